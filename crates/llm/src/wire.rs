//! The OpenAI chat-completions JSON wire format.
//!
//! The request side borrows from the [`ChatRequest`]: a long conversation is
//! serialised straight from the caller's messages and schemas, not copied
//! into an intermediate tree first.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::EndpointConfig;
use crate::message::{ChatRequest, JsonSchema, Message, Role, ToolChoice};
use productresearch_record::ToolSpec;

#[derive(Serialize)]
pub struct WireRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<OutMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<OutTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The endpoint's `extra_body`: its own sampling settings (with
    /// `prose_extra_body` over them for a prose answer).
    #[serde(flatten)]
    pub extra: Cow<'a, serde_json::Map<String, Value>>,
}

/// A message as sent.
#[derive(Serialize)]
pub struct OutMessage<'a> {
    role: &'static str,
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<OutToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

#[derive(Serialize)]
struct OutToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: OutFunction<'a>,
}

#[derive(Serialize)]
struct OutFunction<'a> {
    name: &'a str,
    /// JSON text, as the spec has it.
    arguments: &'a str,
}

/// A tool offered: `{"type": "function", "function": {...}}`.
#[derive(Serialize)]
pub struct OutTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: OutToolFunction<'a>,
}

#[derive(Serialize)]
struct OutToolFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

/// `{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}`.
#[derive(Serialize)]
pub struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: NamedSchema<'a>,
}

#[derive(Serialize)]
struct NamedSchema<'a> {
    name: &'a str,
    schema: &'a Value,
    strict: bool,
}

/// A message as received.
#[derive(Deserialize, Debug)]
pub struct WireMessage {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize, Debug)]
pub struct WireToolCall {
    #[serde(default)]
    pub id: String,
    pub function: WireFunction,
}

#[derive(Deserialize, Debug)]
pub struct WireFunction {
    pub name: String,
    /// JSON text per the spec; some servers send an object, which we accept.
    #[serde(default)]
    pub arguments: Value,
}

#[derive(Deserialize, Debug)]
pub struct WireResponse {
    #[serde(default)]
    pub model: String,
    pub choices: Vec<WireChoice>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Deserialize, Debug)]
pub struct WireChoice {
    pub message: WireMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

impl<'a> From<&'a Message> for OutMessage<'a> {
    fn from(m: &'a Message) -> Self {
        Self {
            role: role_name(m.role),
            content: m.content.as_deref(),
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| OutToolCall { id: &c.id, kind: "function", function: OutFunction { name: &c.name, arguments: &c.arguments } })
                .collect(),
            tool_call_id: m.tool_call_id.as_deref(),
        }
    }
}

impl<'a> From<&'a ToolSpec> for OutTool<'a> {
    fn from(t: &'a ToolSpec) -> Self {
        Self { kind: "function", function: OutToolFunction { name: &t.name, description: &t.description, parameters: &t.parameters } }
    }
}

impl<'a> From<&'a JsonSchema> for ResponseFormat<'a> {
    fn from(s: &'a JsonSchema) -> Self {
        Self { kind: "json_schema", json_schema: NamedSchema { name: &s.name, schema: &s.schema, strict: true } }
    }
}

/// Builds the request body for `endpoint` (its model, sampling settings and
/// whether it accepts `response_format: json_schema`).
pub fn request<'a>(endpoint: &'a EndpointConfig, req: &'a ChatRequest) -> WireRequest<'a> {
    WireRequest {
        model: &endpoint.model,
        messages: req.messages.iter().map(OutMessage::from).collect(),
        tools: req.callable.as_deref().unwrap_or(&req.tools).iter().map(OutTool::from).collect(),
        tool_choice: req.tool_choice.as_ref().map(|c| match c {
            ToolChoice::Auto => "auto",
            ToolChoice::None => "none",
            ToolChoice::Required => "required",
        }),
        response_format: req.json_schema.as_ref().filter(|_| endpoint.structured_output).map(ResponseFormat::from),
        temperature: req.temperature.or(endpoint.temperature),
        max_tokens: req.max_tokens.or(endpoint.prose_max_tokens.filter(|_| req.prose)).or(endpoint.max_tokens),
        extra: sampling(endpoint, req),
    }
}

/// The endpoint's own sampling fields for this request: `extra_body`, and
/// for a prose answer `prose_extra_body` over it (merged so that a field set
/// in both is sent once).
fn sampling<'a>(endpoint: &'a EndpointConfig, req: &ChatRequest) -> Cow<'a, serde_json::Map<String, Value>> {
    if !req.prose || endpoint.prose_extra_body.is_empty() {
        return Cow::Borrowed(&endpoint.extra_body);
    }
    let mut merged = endpoint.extra_body.clone();
    merged.extend(endpoint.prose_extra_body.iter().map(|(k, v)| (k.clone(), v.clone())));
    Cow::Owned(merged)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_is_written_in_the_openai_shape() {
        let req = ChatRequest {
            messages: vec![
                Message::system("be brief"),
                Message::assistant_calls(
                    None,
                    vec![productresearch_record::ToolCall {
                        id: "call_0".into(),
                        name: "web_search".into(),
                        arguments: r#"{"query":"q"}"#.into(),
                    }],
                ),
                Message::tool("call_0", "result"),
            ],
            tools: vec![ToolSpec { name: "web_search".into(), description: "search".into(), parameters: json!({"type": "object"}).into() }]
                .into(),
            callable: None,
            tool_choice: Some(ToolChoice::Auto),
            json_schema: Some(JsonSchema { name: "plan".into(), schema: json!({"type": "object"}).into() }),
            max_tokens: None,
            prose: false,
            temperature: None,
        };
        let mut endpoint = EndpointConfig { temperature: Some(0.5), max_tokens: Some(64), ..EndpointConfig::new("http://x/v1", "m") };
        endpoint.extra_body.insert("repeat_last_n".into(), json!(256));
        let body = serde_json::to_value(request(&endpoint, &req)).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_0", "type": "function", "function": {"name": "web_search", "arguments": "{\"query\":\"q\"}"}}
                    ]},
                    {"role": "tool", "content": "result", "tool_call_id": "call_0"}
                ],
                "tools": [{"type": "function", "function": {"name": "web_search", "description": "search", "parameters": {"type": "object"}}}],
                "tool_choice": "auto",
                "response_format": {"type": "json_schema", "json_schema": {"name": "plan", "schema": {"type": "object"}, "strict": true}},
                "temperature": 0.5,
                "max_tokens": 64,
                "repeat_last_n": 256
            })
        );
        // Without structured output the schema stays home.
        let plain = EndpointConfig { structured_output: false, ..EndpointConfig::new("http://x/v1", "m") };
        let body = serde_json::to_value(request(&plain, &req)).unwrap();
        assert!(body.get("response_format").is_none() && body.get("temperature").is_none());
        let hotter = ChatRequest { temperature: Some(0.75), ..req };
        assert_eq!(serde_json::to_value(request(&endpoint, &hotter)).unwrap()["temperature"], json!(0.75));
    }

    #[test]
    fn prose_sampling_and_bound_go_only_with_prose_answers() {
        let mut endpoint = EndpointConfig::new("http://x/v1", "m");
        endpoint.extra_body.insert("repeat_last_n".into(), json!(256));
        endpoint.extra_body.insert("dry_multiplier".into(), json!(0.0));
        endpoint.prose_extra_body.insert("dry_multiplier".into(), json!(0.8));
        (endpoint.max_tokens, endpoint.prose_max_tokens) = (Some(768), Some(512));
        let json_answer = ChatRequest { messages: vec![Message::user("plan")], ..ChatRequest::default() };
        let body = serde_json::to_value(request(&endpoint, &json_answer)).unwrap();
        assert_eq!((body["repeat_last_n"].clone(), body["dry_multiplier"].clone()), (json!(256), json!(0.0)));
        assert_eq!(body["max_tokens"], 768);
        let prose = ChatRequest { prose: true, ..json_answer };
        let text = serde_json::to_string(&request(&endpoint, &prose)).unwrap();
        assert_eq!(text.matches("dry_multiplier").count(), 1, "{text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!((body["repeat_last_n"].clone(), body["dry_multiplier"].clone()), (json!(256), json!(0.8)));
        assert_eq!(body["max_tokens"], 512, "the report's own bound");
    }
}
