//! `web_visit`: a corpus page as clean text, trimmed to the agent's budget.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::budget;
use crate::gateway::Gateway;
use crate::goal::Goal;
use crate::tools::{ToolDefinition, ToolError};
use crate::web_corpus::is_http_url;

pub const NAME: &str = "web_visit";

pub fn definition(visit_max_chars: usize) -> ToolDefinition {
    ToolDefinition {
        name: NAME,
        description: format!(
            "Read a web page (a url from web_search) as clean text: headings as \"#\" lines, list items as \"- \" \
             lines, paragraphs separated by blank lines. Returns JSON {{\"url\",\"title\",\"content\"}}; with a goal, \
             the paragraphs most related to it come first. Content is cut to {visit_max_chars} characters (ending \
             with \"…\")."
        ),
        parameters: json!({
            "type": "object",
            "properties": {
                "url": {"type": "string", "minLength": 1, "description": "An http or https URL returned by web_search."},
                "goal": {"type": "string", "description": "What you are looking for on the page, e.g. \"which model has the longest battery life\"."}
            },
            "required": ["url"],
            "additionalProperties": false
        }),
    }
}

#[derive(Debug, Deserialize)]
pub struct Arguments {
    url: String,
    #[serde(default)]
    goal: Option<String>,
}

#[derive(Serialize)]
struct PageContent<'a> {
    url: &'a str,
    title: &'a str,
    content: String,
}

pub fn run(gateway: &Gateway, args: Arguments) -> Result<String, ToolError> {
    if !is_http_url(&args.url) {
        return Err(ToolError::invalid(format!("argument \"url\" must be an http or https URL, got \"{}\"", args.url)));
    }
    let web = gateway.web(NAME)?;
    let Some(page) = web.corpus.get(&args.url) else {
        return Err(ToolError::not_found(format!("no page at \"{}\" in the web corpus; use a url returned by web_search", args.url)));
    };
    let content = match Goal::parse(args.goal.as_deref()) {
        Some(goal) => {
            let paragraphs: Vec<&str> = page.text.split("\n\n").collect();
            goal.rank(paragraphs, |p| p.to_string()).join("\n\n")
        }
        None => page.text.clone(),
    };
    let content = budget::truncate(&content, gateway.visit_max_chars);
    Ok(serde_json::to_string(&PageContent { url: &page.url, title: &page.title, content }).expect("serializable"))
}
