//! `web_visit`: a page as clean text, trimmed to the agent's budget. Pages of
//! the local corpus are served from it; any other URL is fetched live under
//! the fetch policy (see [`crate::web::fetch`]) and read with [`crate::web::page_reader`].

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::arguments::decode;
use super::goal::Goal;
use super::{Backends, Tool, ToolDefinition, budget};
use crate::BoxFuture;
use crate::config::Config;
use crate::outcome::{ToolError, ToolErrorKind};
use crate::web::corpus::is_http_url;
use crate::web::page_reader;

pub const NAME: &str = "web_visit";

struct WebVisit {
    definition: ToolDefinition,
    visit_max_chars: usize,
}

/// `web_visit` as the gateway registers it.
pub fn register(config: &Config) -> Box<dyn Tool> {
    Box::new(WebVisit { definition: definition(config.visit_max_chars), visit_max_chars: config.visit_max_chars })
}

impl Tool for WebVisit {
    fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    fn run<'a>(&'a self, backends: &'a Backends, arguments: Value) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move { visit(backends, decode(arguments)?, self.visit_max_chars).await })
    }

    fn backend(&self, backends: &Backends, arguments: &Value) -> &'static str {
        let in_corpus = arguments["url"].as_str().zip(backends.web.as_ref()).is_some_and(|(url, web)| web.corpus.get(url).is_some());
        if in_corpus { "corpus" } else { "live" }
    }
}

fn definition(visit_max_chars: usize) -> ToolDefinition {
    ToolDefinition {
        name: NAME,
        description: format!(
            "Read a web page (a url from web_search) as clean text: headings as \"#\" lines, list items as \"- \" \
             lines, paragraphs separated by blank lines; product pages start with the facts they state (price, \
             brand, availability). Returns JSON {{\"url\",\"title\",\"content\"}}; with a goal, the paragraphs most \
             related to it come first, or, where a summary model is configured, content is what the page says about \
             the goal (\"summarized_for_goal\": true). Content is cut to {visit_max_chars} characters (ending with \"…\")."
        ),
        parameters: json!({
            "type": "object",
            "properties": {
                "url": {"type": "string", "minLength": 1, "description": "An http or https URL returned by web_search."},
                "goal": {"type": "string", "description": "What you need to learn from this page for the research query."}
            },
            "required": ["url"],
            "additionalProperties": false
        }),
    }
}

#[derive(Debug, Deserialize)]
struct Arguments {
    url: String,
    #[serde(default)]
    goal: Option<String>,
}

#[derive(Serialize)]
struct PageContent<'a> {
    url: &'a str,
    title: &'a str,
    content: String,
    /// Set when `content` is the model's summary toward the goal.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    summarized_for_goal: bool,
}

async fn visit(backends: &Backends, args: Arguments, visit_max_chars: usize) -> Result<String, ToolError> {
    if !is_http_url(&args.url) {
        return Err(ToolError::invalid(format!("argument \"url\" must be an http or https URL, got \"{}\"", args.url)));
    }
    let goal = Goal::parse(args.goal.as_deref());
    if let Some(page) = backends.web.as_ref().and_then(|web| web.corpus.get(&args.url)) {
        let summary = summarize(backends, &page.title, &page.text, args.goal.as_deref()).await;
        return Ok(answer(visit_max_chars, &page.url, &page.title, &page.text, goal.as_ref(), summary));
    }
    let Some(fetcher) = &backends.fetcher else {
        backends.web(NAME)?;
        return Err(ToolError::not_found(format!("no page at \"{}\" in the web corpus; use a url returned by web_search", args.url)));
    };
    let fetched = fetcher.call(args.url.clone()).await.map_err(|e| ToolError { kind: e.kind, message: e.message })?;
    let url = fetched.final_url.to_string();
    // Parsing a page of up to max_bytes is CPU work: off the async workers.
    let (body, reader_url) = (fetched.body, url.clone());
    let page = tokio::task::spawn_blocking(move || page_reader::read(&body, Some(&reader_url)))
        .await
        .map_err(|e| ToolError { kind: ToolErrorKind::Backend, message: format!("{NAME} failed: reading the page: {e}") })?;
    let title = page.title.unwrap_or_default();
    let summary = summarize(backends, &title, &page.text, args.goal.as_deref()).await;
    Ok(answer(visit_max_chars, &url, &title, &page.text, goal.as_ref(), summary))
}

/// The page's text (paragraphs most related to the goal first), or the
/// model's summary toward the goal, within the budget.
fn answer(visit_max_chars: usize, url: &str, title: &str, text: &str, goal: Option<&Goal>, summary: Option<String>) -> String {
    let summarized_for_goal = summary.is_some();
    let content = match (summary, goal) {
        (Some(summary), _) => summary,
        (None, Some(goal)) => goal.rank(text.split("\n\n").collect(), |p| p.to_string()).join("\n\n"),
        (None, None) => text.to_string(),
    };
    let content = budget::truncate(&content, visit_max_chars);
    serde_json::to_string(&PageContent { url, title, content, summarized_for_goal }).expect("serializable")
}

/// Most page text sent to the summary model, in characters.
const SUMMARY_INPUT_CHARS: usize = 24_000;

/// The summary request (built-in templates `tool_gateway/visit_summary_system`
/// and `tool_gateway/visit_summary`; the gateway has no `prompts_dir`).
fn summary_prompt(goal: &str, title: &str, text: &str) -> Result<Vec<productresearch_llm::Message>, productresearch_prompts::PromptError> {
    let prompts = productresearch_prompts::PromptSet::builtin();
    let system = prompts.render("tool_gateway/visit_summary_system", json!({}))?;
    let user = prompts.render("tool_gateway/visit_summary", json!({"goal": goal, "title": title, "text": text}))?;
    Ok(vec![productresearch_llm::Message::system(system.text), productresearch_llm::Message::user(user.text)])
}

/// The configured model's account of what the page says about `goal`; `None`
/// without a model or goal, or when the model fails (the page text then
/// stands, and the failure is logged: a summary is a convenience, not the
/// page).
async fn summarize(backends: &Backends, title: &str, text: &str, goal: Option<&str>) -> Option<String> {
    let client = backends.summarizer.as_ref()?;
    let goal = goal.map(str::trim).filter(|g| !g.is_empty())?;
    let messages = match summary_prompt(goal, title, &budget::truncate(text, SUMMARY_INPUT_CHARS)) {
        Ok(messages) => messages,
        Err(e) => {
            tracing::warn!(error = %e, "web_visit summary prompt does not render; returning the page text");
            return None;
        }
    };
    let request = productresearch_llm::ChatRequest { messages, ..Default::default() };
    match client.chat(&request).await {
        Ok(response) => response.content.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()),
        Err(e) => {
            tracing::warn!(error = %e, "web_visit summary failed; returning the page text");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The text the code wrote inline before it was a template, byte for byte.
    #[test]
    fn the_summary_prompt_is_the_former_inline_text() {
        let (goal, title, text) = ("quietest kettle under $60", "Kettle test 2026", "The Aurion K2 measured 42 dB.\n");
        let messages = summary_prompt(goal, title, text).unwrap();
        assert_eq!(
            messages[0].content.as_deref(),
            Some(
                "You read one web page for a shopping researcher. Report only what the page says that bears on the goal: \
                 products, prices, specifications, test results and verdicts, quoted exactly. If the page does not \
                 address the goal, say so in one sentence. Plain text, no preamble."
            )
        );
        assert_eq!(messages[1].content.as_deref(), Some(format!("Goal: {goal}\n\nPage title: {title}\n\nPage text:\n{text}").as_str()));
    }
}
