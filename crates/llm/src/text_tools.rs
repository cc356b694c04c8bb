//! Tool use in text form, for endpoints whose models cannot emit native
//! `tool_calls` (see [`ToolMode`]).
//!
//! Callers always build conversations in native form (assistant `tool_calls`,
//! `tool` messages). For the text modes this module rewrites them: the first
//! system message gets a tool catalog, past calls become the JSON the model
//! would have written, and tool results become user messages. Answers are parsed
//! back into calls or a report.

use productresearch_record::{ToolCall, ToolSpec};
use serde_json::{Value, json};

use crate::config::ToolMode;
use crate::json_output::extract_json;
use crate::message::{Message, Role, ToolChoice};
use crate::wording::say;

/// What one answer may be: the text-form counterpart of `tool_choice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// A tool call or the report (`auto`).
    CallOrReport,
    /// A tool call only (`required`).
    CallOnly,
    /// The report only (`none`, or no tools).
    ReportOnly,
}

impl Offer {
    /// What a request with `tools` and `choice` lets the model answer.
    pub fn of(tools: &[ToolSpec], choice: Option<&ToolChoice>) -> Self {
        match choice {
            _ if tools.is_empty() => Offer::ReportOnly,
            Some(ToolChoice::None) => Offer::ReportOnly,
            Some(ToolChoice::Required) => Offer::CallOnly,
            Some(ToolChoice::Auto) | None => Offer::CallOrReport,
        }
    }

    /// A tool call is acceptable.
    pub fn calls(self) -> bool {
        self != Offer::ReportOnly
    }

    /// The report is acceptable.
    pub fn report(self) -> bool {
        self != Offer::CallOnly
    }
}

/// Longest report, in characters, that fits in `max_tokens` of answer with
/// room for the JSON around it: 2.5 characters a token, the worst case seen for
/// Markdown full of product ids and prices (English prose runs ~4).
pub fn report_chars(max_tokens: u32) -> u32 {
    max_tokens.saturating_sub(48) * 5 / 2
}

/// The conversation as a text-mode endpoint sees it. `report_chars` is the
/// bound on the report the model is told of (see [`action_schema`]).
pub fn to_text_form(messages: &[Message], tools: &[ToolSpec], mode: ToolMode, offer: Offer, report_chars: Option<u32>) -> Vec<Message> {
    let mut out = Vec::with_capacity(messages.len());
    let mut catalog_added = false;
    for m in messages {
        match m.role {
            Role::System if !catalog_added && !tools.is_empty() => {
                catalog_added = true;
                let base = m.content.clone().unwrap_or_default();
                out.push(Message::system(format!("{base}\n\n{}", catalog(tools, mode, offer, report_chars))));
            }
            Role::Assistant if !m.tool_calls.is_empty() => {
                let calls: Vec<String> =
                    m.tool_calls.iter().map(|c| json!({"tool": c.name, "arguments": arguments_value(&c.arguments)}).to_string()).collect();
                out.push(Message::assistant(calls.join("\n")));
            }
            Role::Tool => {
                let id = m.tool_call_id.clone().unwrap_or_default();
                let name =
                    messages.iter().flat_map(|x| x.tool_calls.iter()).find(|c| c.id == id).map(|c| c.name.as_str()).unwrap_or("tool");
                out.push(Message::user(say("tool_result", json!({"name": name, "id": id, "content": m.content.as_deref().unwrap_or("")}))));
            }
            _ => out.push(m.clone()),
        }
    }
    out
}

fn arguments_value(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()))
}

/// The tool catalog and how to answer (template `llm/tool_catalog`).
fn catalog(tools: &[ToolSpec], mode: ToolMode, offer: Offer, report_chars: Option<u32>) -> String {
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| json!({"name": t.name, "parameters": t.parameters.to_string(), "description": t.description.replace('\n', " ")}))
        .collect();
    // Told in words: small models do not count characters.
    let report_words = report_chars.filter(|_| offer.report()).map(|chars| chars / 6);
    let offer = match offer {
        Offer::CallOrReport => "call_or_report",
        Offer::CallOnly => "call_only",
        Offer::ReportOnly => "report_only",
    };
    let mode = match mode {
        ToolMode::Native => "native",
        ToolMode::JsonSchema => "json_schema",
        ToolMode::Lenient => "lenient",
    };
    say("tool_catalog", json!({"tools": tools, "mode": mode, "offer": offer, "report_words": report_words}))
}

/// The `response_format` schema of an action: one object per tool, and, when
/// the report is offered, `{"report": ""}`: the choice to write it, which is
/// then asked for as free text (see `LlmClient::act`).
pub fn action_schema(tools: &[ToolSpec], offer: Offer) -> Value {
    let mut options: Vec<Value> = if offer.calls() {
        tools
            .iter()
            .map(|t| {
                json!({
                    "type": "object",
                    "properties": {"tool": {"const": t.name}, "arguments": t.parameters},
                    "required": ["tool", "arguments"],
                    "additionalProperties": false
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    if offer.report() {
        options.push(
            json!({"type": "object", "properties": {"report": {"const": ""}}, "required": ["report"], "additionalProperties": false}),
        );
    }
    json!({"oneOf": options})
}

/// What an answer in text form says.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A tool call (id still to be assigned), with the prose around it.
    Call { name: String, arguments: Value, prose: String },
    /// The final report.
    Report(String),
}

/// Reads a text-form answer: a `<tool_call>` block, else the JSON object in the
/// text (whole, fenced, or first balanced), else — in lenient mode — the text
/// itself as the report.
pub fn parse(content: &str, mode: ToolMode) -> Result<Parsed, String> {
    let content = content.trim();
    if let Some(block) = tagged_block(content) {
        let value: Value = serde_json::from_str(block.trim()).map_err(|e| format!("the <tool_call> block is not valid JSON: {e}"))?;
        return call_from(&value, prose_around(content, block)).ok_or_else(|| "the <tool_call> block has no tool name".to_string());
    }
    match extract_json(content) {
        Some(value) => {
            if let Some(report) = value.get("report").and_then(Value::as_str) {
                return Ok(Parsed::Report(report.trim().to_string()));
            }
            if let Some(call) = call_from(&value, String::new()) {
                let Parsed::Call { name, arguments, .. } = call else { unreachable!() };
                let prose = content.split("```").next().unwrap_or("").trim().to_string();
                let prose = if prose.starts_with('{') { String::new() } else { prose };
                return Ok(Parsed::Call { name, arguments, prose });
            }
            match mode {
                ToolMode::Lenient => Ok(Parsed::Report(content.to_string())),
                _ => Err("the JSON object has neither \"tool\" with \"arguments\" nor \"report\"".into()),
            }
        }
        None if mode == ToolMode::Lenient && !content.is_empty() => Ok(Parsed::Report(content.to_string())),
        None => Err("the answer is not a JSON object".into()),
    }
}

fn tagged_block(content: &str) -> Option<&str> {
    let start = content.find("<tool_call>")? + "<tool_call>".len();
    let end = content[start..].find("</tool_call>").map(|e| start + e).unwrap_or(content.len());
    Some(&content[start..end])
}

fn prose_around(content: &str, block: &str) -> String {
    content.replace(block, "").replace("<tool_call>", "").replace("</tool_call>", "").trim().to_string()
}

fn call_from(value: &Value, prose: String) -> Option<Parsed> {
    let name = value.get("tool").or_else(|| value.get("name")).and_then(Value::as_str)?.to_string();
    let arguments = value.get("arguments").or_else(|| value.get("parameters")).cloned().unwrap_or(json!({}));
    // Some models double-encode the arguments as a JSON string.
    let arguments = match arguments {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        other => other,
    };
    Some(Parsed::Call { name, arguments, prose })
}

/// Checks a call against the offered tools; the error is what the model is told.
pub fn validate_call(call: &ToolCall, tools: &[(&ToolSpec, std::sync::Arc<jsonschema::Validator>)]) -> Result<(), String> {
    let Some((_, validator)) = tools.iter().find(|(t, _)| t.name == call.name) else {
        let names: Vec<&str> = tools.iter().map(|(t, _)| t.name.as_str()).collect();
        return Err(format!("there is no tool named {:?}; the tools are {}", call.name, names.join(", ")));
    };
    let args: Value = serde_json::from_str(&call.arguments).map_err(|_| format!("the arguments of {} are not valid JSON", call.name))?;
    if !args.is_object() {
        return Err(format!("the arguments of {} must be a JSON object", call.name));
    }
    let errors: Vec<String> = validator.iter_errors(&args).take(3).map(|e| e.to_string()).collect();
    if errors.is_empty() { Ok(()) } else { Err(format!("the arguments of {} do not match its schema: {}", call.name, errors.join("; "))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool() -> ToolSpec {
        ToolSpec {
            name: "product_search".into(),
            description: "search".into(),
            parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}).into(),
        }
    }

    #[test]
    fn parses_tagged_fenced_bare_and_report_answers() {
        let want = |p: Parsed| match p {
            Parsed::Call { name, arguments, .. } => (name, arguments),
            Parsed::Report(r) => panic!("report {r}"),
        };
        let tagged = "<tool_call>\n{\"name\": \"product_search\", \"arguments\": {\"query\": \"kettle\"}}\n</tool_call>";
        assert_eq!(want(parse(tagged, ToolMode::Lenient).unwrap()), ("product_search".into(), json!({"query": "kettle"})));
        let fenced = "I'll search.\n```json\n{\"tool\": \"product_search\", \"arguments\": \"{\\\"query\\\": \\\"k\\\"}\"}\n```";
        let parsed = parse(fenced, ToolMode::Lenient).unwrap();
        assert!(matches!(&parsed, Parsed::Call { prose, .. } if prose == "I'll search."), "{parsed:?}");
        assert_eq!(want(parsed), ("product_search".into(), json!({"query": "k"})));
        assert_eq!(parse("{\"report\": \" # R \"}", ToolMode::JsonSchema).unwrap(), Parsed::Report("# R".into()));
        assert_eq!(parse("# Report\nBuy it.", ToolMode::Lenient).unwrap(), Parsed::Report("# Report\nBuy it.".into()));
        assert!(parse("# Report", ToolMode::JsonSchema).is_err());
        assert!(parse("{\"x\": 1}", ToolMode::JsonSchema).is_err());
    }

    #[test]
    fn history_is_rewritten_into_text_form() {
        let call = ToolCall { id: "call_0".into(), name: "product_search".into(), arguments: "{\"query\":\"k\"}".into() };
        let messages = vec![
            Message::system("sys"),
            Message::user("q"),
            Message::assistant_calls(None, vec![call]),
            Message::tool("call_0", "{\"results\":[]}"),
        ];
        let text = to_text_form(&messages, &[tool()], ToolMode::JsonSchema, Offer::CallOrReport, None);
        let system = text[0].content.as_deref().unwrap();
        assert!(
            system.starts_with("sys\n\n") && system.contains("Available tools (JSON schemas):") && system.contains("- product_search: {")
        );
        assert_eq!(text[2].content.as_deref(), Some("{\"arguments\":{\"query\":\"k\"},\"tool\":\"product_search\"}"));
        assert!(text[2].tool_calls.is_empty());
        assert_eq!(text[3].role, Role::User);
        assert_eq!(text[3].content.as_deref(), Some("Tool result for product_search (call_0):\n{\"results\":[]}"));
    }

    #[test]
    fn calls_are_validated_against_the_schema() {
        let spec = tool();
        let tools = vec![(&spec, std::sync::Arc::new(jsonschema::validator_for(&spec.parameters).unwrap()))];
        let call = |name: &str, args: &str| ToolCall { id: "c".into(), name: name.into(), arguments: args.into() };
        assert!(validate_call(&call("product_search", "{\"query\": \"k\"}"), &tools).is_ok());
        assert!(validate_call(&call("product_search", "{}"), &tools).unwrap_err().contains("query"));
        assert!(validate_call(&call("web_search", "{}"), &tools).unwrap_err().contains("no tool named"));
        assert!(validate_call(&call("product_search", "[1]"), &tools).unwrap_err().contains("object"));
    }

    #[test]
    fn the_action_schema_has_one_option_per_tool_plus_the_report() {
        assert_eq!(action_schema(&[tool()], Offer::CallOrReport)["oneOf"].as_array().unwrap().len(), 2);
        let report_only = action_schema(&[tool()], Offer::ReportOnly);
        assert_eq!(report_only["oneOf"].as_array().unwrap().len(), 1);
        assert_eq!(report_only["oneOf"][0]["properties"]["report"]["const"], "");
        let call_only = action_schema(&[tool()], Offer::CallOnly);
        assert_eq!(call_only["oneOf"].as_array().unwrap().len(), 1);
        assert_eq!(call_only["oneOf"][0]["properties"]["tool"]["const"], "product_search");
    }

    #[test]
    fn the_offer_follows_tool_choice() {
        assert_eq!(Offer::of(&[tool()], Some(&ToolChoice::Required)), Offer::CallOnly);
        assert_eq!(Offer::of(&[tool()], None), Offer::CallOrReport);
        assert_eq!(Offer::of(&[], Some(&ToolChoice::Required)), Offer::ReportOnly);
        let system =
            |offer| to_text_form(&[Message::system("s")], &[tool()], ToolMode::JsonSchema, offer, Some(1800))[0].content.clone().unwrap();
        assert!(system(Offer::CallOnly).contains("to call one tool: gather evidence"));
        assert!(system(Offer::ReportOnly).contains("Do not call a tool now") && system(Offer::ReportOnly).contains("under 300 words"));
        assert!(!system(Offer::CallOnly).contains("words"));
    }
}
