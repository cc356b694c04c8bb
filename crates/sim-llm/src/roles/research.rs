//! Research agent acting: one tool call per turn following a script, then the report.
//! The script depends on the query (deterministically), as a model's research would:
//! most queries start in the catalog (product_search → visit_product → web_search →
//! web_visit → …), some start on the web (web_search → web_visit → product_search →
//! visit_product → …), and some look at alternatives once more before reporting.
//! Each step reads the previous tool result, so the script only succeeds when the agent
//! really feeds tool results back. The script decides an [`Action`]; native tool calls and
//! the text form (see `text_action`) only differ in how it is written down.

use serde_json::{Map, Value, json};

use super::arguments::fit;
use super::evidence::{first_product_id, first_url};
use super::keywords::keywords;
use super::{Reply, report};
use crate::config::SimConfig;
use crate::conversation::ToolChoice;
use crate::wire::{ChatRequest, FunctionDef};

/// Results asked of each search.
const SEARCH_LIMIT: u64 = 5;

/// A tool call the script wants to make; once returned in an [`Action`], fitted to the
/// offered tool of that name.
pub struct Call {
    pub name: String,
    pub arguments: Map<String, Value>,
}

/// What the research agent does this turn.
pub enum Action {
    Call(Call),
    Report,
}

impl Call {
    fn new(name: &str, arguments: Value) -> Self {
        let Value::Object(arguments) = arguments else { unreachable!("arguments are an object") };
        Self { name: name.to_owned(), arguments }
    }
}

/// The native answer: the call as `tool_calls`, the report as content.
pub fn answer(request: &ChatRequest, config: &SimConfig) -> Reply {
    let tools: Vec<FunctionDef> = request.offered_tools().iter().map(|t| t.function.clone()).collect();
    match act(request, config, &tools) {
        Action::Call(call) => Reply::ToolCall {
            id: format!("call_{}", request.tool_calls_so_far()),
            name: call.name,
            arguments: Value::Object(call.arguments).to_string(),
        },
        Action::Report => Reply::Content(report::write(request)),
    }
}

/// The script's next step given the tools the caller offered.
pub fn act(request: &ChatRequest, config: &SimConfig, tools: &[FunctionDef]) -> Action {
    let choice = request.tool_choice();
    let turns = request.tool_call_turns();
    let write_report = match choice {
        ToolChoice::None => true,
        // The caller insists on a tool call, so the script runs past `tool_steps`.
        ToolChoice::Required | ToolChoice::Function(_) => false,
        ToolChoice::Auto => turns >= config.tool_steps + Script::of(request).extra_steps,
    };
    if write_report {
        return Action::Report;
    }
    let wanted = match &choice {
        ToolChoice::Function(name) => forced(request, tools, name),
        _ => Some(scripted(request, turns)),
    };
    match wanted.and_then(|call| offered(tools, call)) {
        Some(call) => Action::Call(call),
        None => {
            tracing::debug!(turns, "needed tool not offered or not callable; writing the report");
            Action::Report
        }
    }
}

/// Which research script a query gets.
struct Script {
    /// Web pages before the catalog.
    web_first: bool,
    /// Calls past `tool_steps` before the report.
    extra_steps: usize,
}

impl Script {
    fn of(request: &ChatRequest) -> Self {
        let seed = super::seed(&request.research_query());
        Self { web_first: seed % 4 == 3, extra_steps: usize::from((seed >> 8) % 5 == 4) }
    }
}

/// The script's call for turn `k` (0-based count of earlier tool-calling turns).
fn scripted(request: &ChatRequest, k: usize) -> Call {
    let terms = keywords(&request.research_query());
    let last_result = request.last_tool_text().unwrap_or_default();
    let search = |name: &str, query: String| Call::new(name, json!({ "query": query, "limit": SEARCH_LIMIT }));
    // Web first: the catalog steps (0, 1) and the web steps (2, 3) trade places.
    let k = match (Script::of(request).web_first, k) {
        (true, 0 | 1) => k + 2,
        (true, 2 | 3) => k - 2,
        _ => k,
    };
    match k {
        0 => search("product_search", terms),
        1 => match first_product_id(&last_result) {
            Some(id) => Call::new("visit_product", json!({ "product_id": id })),
            None => search("web_search", format!("{terms} review")),
        },
        2 => search("web_search", format!("{terms} review")),
        // The newest page found, not only the last result's: a refused call
        // in between (a repeat the supervisor sent back) leaves no result.
        3 => match request.tool_texts().iter().rev().find_map(|t| first_url(t)) {
            Some(url) => Call::new("web_visit", json!({ "url": url })),
            None => search("product_search", format!("{terms} alternatives")),
        },
        _ => search("product_search", format!("{terms} budget")),
    }
}

/// The call for a tool the caller forced by name; `None` if there is nothing to call it with.
fn forced(request: &ChatRequest, tools: &[FunctionDef], name: &str) -> Option<Call> {
    let terms = keywords(&request.research_query());
    let results = request.tool_texts();
    let newest_first = || results.iter().rev();
    let call = match name {
        "product_search" => Call::new(name, json!({ "query": terms, "limit": SEARCH_LIMIT })),
        "web_search" => Call::new(name, json!({ "query": format!("{terms} review"), "limit": SEARCH_LIMIT })),
        "visit_product" => {
            let id = newest_first().find_map(|t| first_product_id(t))?;
            Call::new(name, json!({ "product_id": id }))
        }
        "web_visit" => Call::new(name, json!({ "url": newest_first().find_map(|t| first_url(t))? })),
        other => generic(tools, other, &terms)?,
    };
    Some(call)
}

/// An unknown tool's required parameters filled with the search terms or small defaults.
fn generic(tools: &[FunctionDef], name: &str, terms: &str) -> Option<Call> {
    let schema = offered_tool(tools, name)?.parameters.clone().unwrap_or_else(|| json!({}));
    let mut arguments = Map::new();
    for key in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
        let key = key.as_str()?;
        let ty = schema.pointer(&format!("/properties/{key}/type")).and_then(Value::as_str);
        let value = match ty {
            None | Some("string") => json!(terms),
            Some("integer" | "number") => json!(SEARCH_LIMIT),
            Some("boolean") => json!(false),
            Some(_) => return None,
        };
        arguments.insert(key.to_owned(), value);
    }
    Some(Call { name: name.to_owned(), arguments })
}

/// `call` fitted to the offered tool of that name, if there is one it fits.
fn offered(tools: &[FunctionDef], call: Call) -> Option<Call> {
    let tool = offered_tool(tools, &call.name)?;
    let arguments = fit(call.arguments, tool.parameters.as_ref())?;
    Some(Call { name: call.name, arguments })
}

/// The tool of that name among those the caller offered.
pub fn offered_tool<'a>(tools: &'a [FunctionDef], name: &str) -> Option<&'a FunctionDef> {
    tools.iter().find(|t| t.name == name)
}
