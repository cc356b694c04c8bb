//! The text form of tool use, for endpoints whose models cannot emit native `tool_calls`
//! (small local models): the client sends no `tools`, lists them in the system prompt, and
//! rewrites past calls and results as plain messages. This file reads that contract; the
//! research role answers it like the native one, so both run the same script.

use serde_json::Value;

use crate::wire::{ChatRequest, FunctionDef, Message};

/// The line that opens the tool catalog at the end of the first system message.
pub const CATALOG_HEADER: &str = "Available tools (JSON schemas):";
/// Starts a user message that carries a tool's output: `Tool result for NAME (ID):\nOUTPUT`.
pub const TOOL_RESULT_PREFIX: &str = "Tool result for ";
/// In the catalog's instructions: tools are closed for this turn (the text-form
/// counterpart of `tool_choice: "none"`, which a request without `tools` cannot carry).
pub const TOOLS_CLOSED: &str = "Do not call a tool now";
/// Starts the user message the client sends when it could not use the model's last answer.
pub const RETRY_PREFIX: &str = "Your last answer could not be used";

/// What a text-form request lets the model do.
#[derive(Debug, Clone, PartialEq)]
pub struct TextForm {
    /// Callable tools with their parameter schemas; empty means the reply must be the report.
    pub tools: Vec<FunctionDef>,
    /// A `response_format` asks for a JSON action; without one the model answers freely.
    pub json: bool,
}

impl ChatRequest {
    /// `Some` when the request uses the text form: the first system message has a tool
    /// catalog, or the response schema has the action shape (a `oneOf` of calls and report).
    pub fn text_form(&self) -> Option<TextForm> {
        let listed = self.messages.iter().find(|m| m.role == "system").and_then(|m| catalog(&m.text()));
        let allowed = self.response_schema().and_then(schema_tools);
        let tools = match (listed, allowed) {
            (None, None) => return None,
            (Some(listed), None) => listed,
            // The schema decides what the reply may name; the catalog, written for the
            // model to read, is preferred for the parameters.
            (listed, Some(allowed)) => {
                allowed.into_iter().map(|tool| listed.iter().flatten().find(|l| l.name == tool.name).cloned().unwrap_or(tool)).collect()
            }
        };
        let closed = self.messages.iter().find(|m| m.role == "system").is_some_and(|m| m.text().contains(TOOLS_CLOSED));
        Some(TextForm { tools: if closed { Vec::new() } else { tools }, json: self.wants_json() })
    }

    fn response_schema(&self) -> Option<&Value> {
        self.response_format.as_ref()?.json_schema.as_ref()?.schema.as_ref()
    }

    /// Whether any user message starts with `prefix` (leading whitespace aside).
    pub fn any_user_text_starts_with(&self, prefix: &str) -> bool {
        self.user_texts().any(|t| t.trim_start().starts_with(prefix))
    }
}

impl Message {
    /// The tool output this message carries: a `tool` message, or a text-form result.
    pub fn tool_output(&self) -> Option<String> {
        match self.role.as_str() {
            "tool" => Some(self.text()),
            "user" => tool_result_output(&self.text()),
            _ => None,
        }
    }

    /// An assistant turn that called tools, natively or as text-form JSON in its content.
    pub fn calls_tools(&self) -> bool {
        self.has_tool_calls() || (self.role == "assistant" && has_text_call(&self.text()))
    }

    /// The client's re-ask after an answer it could not use.
    pub fn is_retry(&self) -> bool {
        self.role == "user" && self.text().trim_start().starts_with(RETRY_PREFIX)
    }
}

/// The tool lines right after the catalog header, or `None` without a header. Only the
/// contiguous run counts, so an example call in the instructions is never read as a tool.
fn catalog(system: &str) -> Option<Vec<FunctionDef>> {
    let mut lines = system.lines().skip_while(|l| l.trim() != CATALOG_HEADER);
    lines.next()?;
    Some(lines.skip_while(|l| l.trim().is_empty()).map_while(tool_line).collect())
}

/// `- name: {parameters schema}`; the JSON is everything after the first `: `.
fn tool_line(line: &str) -> Option<FunctionDef> {
    let (name, schema) = line.trim().strip_prefix("- ")?.split_once(": ")?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let parameters: Value = serde_json::from_str(schema.trim()).ok()?;
    parameters.is_object().then(|| FunctionDef { name: name.to_owned(), parameters: Some(parameters) })
}

/// The tools an action schema allows, or `None` when the schema has no action shape. Strict
/// OpenAI-style schemas spell the choice `anyOf`, so that is read too.
fn schema_tools(schema: &Value) -> Option<Vec<FunctionDef>> {
    let entries = schema.get("oneOf").or_else(|| schema.get("anyOf"))?.as_array()?;
    let mut action_shaped = false;
    let mut tools = Vec::new();
    for entry in entries {
        if let Some(name) = entry.pointer("/properties/tool/const").and_then(Value::as_str) {
            tools.push(FunctionDef { name: name.to_owned(), parameters: entry.pointer("/properties/arguments").cloned() });
            action_shaped = true;
        } else if entry.pointer("/properties/report").is_some() {
            action_shaped = true;
        }
    }
    action_shaped.then_some(tools)
}

/// The output in `Tool result for NAME (ID):\nOUTPUT`, or `None` for any other text.
fn tool_result_output(text: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix(TOOL_RESULT_PREFIX)?;
    let output = match rest.split_once('\n') {
        Some((_, output)) => output,
        // Output on the prefix line itself: everything after its `):`.
        None => rest.split_once("):").map_or("", |(_, output)| output),
    };
    Some(output.trim().to_owned())
}

/// A past call in text form: the content, or one of its lines, is a JSON object with `tool`.
fn has_text_call(content: &str) -> bool {
    let is_call = |text: &str| serde_json::from_str::<Value>(text.trim()).is_ok_and(|v| v.get("tool").is_some());
    is_call(content) || content.lines().any(is_call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn catalog_reads_the_tool_lines_after_the_header_only() {
        let system = "You research products.\n\nAvailable tools (JSON schemas):\n\
            - product_search: {\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"}},\"required\":[\"query\"]}\n\
            - web_visit: {\"type\": \"object\", \"properties\": {\"url\": {\"type\": \"string\"}}}\n\
            To call a tool reply with one JSON object, e.g.\n\
            - example: {\"tool\": \"web_visit\", \"arguments\": {}}";
        let tools = catalog(system).unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["product_search", "web_visit"]);
        assert_eq!(tools[0].parameters.as_ref().unwrap()["required"], json!(["query"]));
        assert!(catalog("You research products.").is_none());
        assert_eq!(catalog("Available tools (JSON schemas):\nnone yet"), Some(vec![]));
    }

    #[test]
    fn action_schema_names_its_tools_and_report_only_names_none() {
        let schema = json!({"oneOf": [
            {"type": "object", "properties": {"tool": {"const": "web_search"}, "arguments": {"type": "object"}}},
            {"type": "object", "properties": {"report": {"type": "string"}}}
        ]});
        let tools = schema_tools(&schema).unwrap();
        assert_eq!(tools.len(), 1);
        assert_eq!(tools[0].name, "web_search");
        assert_eq!(tools[0].parameters, Some(json!({"type": "object"})));
        let report_only = json!({"anyOf": [{"properties": {"report": {"type": "string"}}}]});
        assert_eq!(schema_tools(&report_only), Some(vec![]));
        assert!(schema_tools(&json!({"type": "object"})).is_none());
    }

    #[test]
    fn tool_results_and_past_calls_in_text() {
        let result = "Tool result for product_search (call_0):\n{\"results\":[]}";
        assert_eq!(tool_result_output(result).as_deref(), Some("{\"results\":[]}"));
        assert_eq!(tool_result_output("Tool result for x (c): done").as_deref(), Some("done"));
        assert!(tool_result_output("Feedback on your report: more").is_none());

        assert!(has_text_call("{\"tool\": \"web_search\", \"arguments\": {}}"));
        assert!(has_text_call("{\"tool\":\"a\",\"arguments\":{}}\n{\"tool\":\"b\",\"arguments\":{}}"));
        assert!(!has_text_call("{\"report\": \"# Report\"}"));
        assert!(!has_text_call("# Report\nNo tools were needed."));
    }
}
