//! Research agent acting: one tool call per turn following a fixed script
//! (product_search → visit_product → web_search → web_visit → …), then the report.
//! Each step reads the previous tool result, so the script only succeeds when the agent
//! really feeds tool results back.

use serde_json::{Map, Value, json};

use super::arguments::fit;
use super::evidence::{first_product_id, first_url};
use super::keywords::keywords;
use super::{Reply, report};
use crate::config::SimConfig;
use crate::conversation::ToolChoice;
use crate::wire::ChatRequest;

/// Results asked of each search.
const SEARCH_LIMIT: u64 = 5;

/// A tool call the script wants to make, before checking it is offered.
struct Call {
    name: String,
    arguments: Map<String, Value>,
}

impl Call {
    fn new(name: &str, arguments: Value) -> Self {
        let Value::Object(arguments) = arguments else { unreachable!("arguments are an object") };
        Self { name: name.to_owned(), arguments }
    }
}

pub fn answer(request: &ChatRequest, config: &SimConfig) -> Reply {
    let choice = request.tool_choice();
    let turns = request.tool_call_turns();
    let write_report = match choice {
        ToolChoice::None => true,
        // The caller insists on a tool call, so the script runs past `tool_steps`.
        ToolChoice::Required | ToolChoice::Function(_) => false,
        ToolChoice::Auto => turns >= config.tool_steps,
    };
    if write_report {
        return Reply::Content(report::write(request));
    }
    let wanted = match &choice {
        ToolChoice::Function(name) => forced(request, name),
        _ => Some(scripted(request, turns)),
    };
    match wanted.and_then(|call| offered(request, call)) {
        Some(call) => Reply::ToolCall {
            id: format!("call_{}", request.tool_calls_so_far()),
            name: call.name,
            arguments: Value::Object(call.arguments).to_string(),
        },
        None => {
            tracing::debug!(turns, "needed tool not offered or not callable; writing the report");
            Reply::Content(report::write(request))
        }
    }
}

/// The script's call for turn `k` (0-based count of earlier tool-calling turns).
fn scripted(request: &ChatRequest, k: usize) -> Call {
    let terms = keywords(&request.research_query());
    let last_result = request.last_tool_text().unwrap_or_default();
    let search = |name: &str, query: String| Call::new(name, json!({ "query": query, "limit": SEARCH_LIMIT }));
    match k {
        0 => search("product_search", terms),
        1 => match first_product_id(&last_result) {
            Some(id) => Call::new("visit_product", json!({ "product_id": id })),
            None => search("web_search", format!("{terms} review")),
        },
        2 => search("web_search", format!("{terms} review")),
        3 => match first_url(&last_result) {
            Some(url) => Call::new("web_visit", json!({ "url": url })),
            None => search("product_search", format!("{terms} alternatives")),
        },
        _ => search("product_search", format!("{terms} budget")),
    }
}

/// The call for a tool the caller forced by name; `None` if there is nothing to call it with.
fn forced(request: &ChatRequest, name: &str) -> Option<Call> {
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
        other => generic(request, other, &terms)?,
    };
    Some(call)
}

/// An unknown tool's required parameters filled with the search terms or small defaults.
fn generic(request: &ChatRequest, name: &str, terms: &str) -> Option<Call> {
    let schema = request.offered_tool(name)?.parameters.clone().unwrap_or_else(|| json!({}));
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
fn offered(request: &ChatRequest, call: Call) -> Option<Call> {
    let tool = request.offered_tool(&call.name)?;
    let arguments = fit(call.arguments, tool.parameters.as_ref())?;
    Some(Call { name: call.name, arguments })
}
