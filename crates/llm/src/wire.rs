//! The OpenAI chat-completions JSON wire format.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{ChatRequest, Message, Role, ToolChoice};

#[derive(Serialize)]
pub struct WireRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct WireMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<WireToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct WireToolCall {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: WireFunction,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Serialize, Deserialize, Debug)]
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

impl From<&Message> for WireMessage {
    fn from(m: &Message) -> Self {
        Self {
            role: role_name(m.role).to_string(),
            content: m.content.clone(),
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| WireToolCall {
                    id: c.id.clone(),
                    kind: function_type(),
                    function: WireFunction { name: c.name.clone(), arguments: Value::String(c.arguments.clone()) },
                })
                .collect(),
            tool_call_id: m.tool_call_id.clone(),
        }
    }
}

/// Builds the request body. `structured` says whether the endpoint accepts
/// `response_format: json_schema`.
pub fn request<'a>(
    model: &'a str,
    req: &ChatRequest,
    structured: bool,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
) -> WireRequest<'a> {
    WireRequest {
        model,
        messages: req.messages.iter().map(WireMessage::from).collect(),
        tools: req
            .tools
            .iter()
            .map(|t| serde_json::json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
            .collect(),
        tool_choice: req.tool_choice.as_ref().map(|c| match c {
            ToolChoice::Auto => "auto",
            ToolChoice::None => "none",
        }),
        response_format: req
            .json_schema
            .as_ref()
            .filter(|_| structured)
            .map(|s| serde_json::json!({"type": "json_schema", "json_schema": {"name": s.name, "schema": s.schema, "strict": true}})),
        temperature,
        max_tokens: req.max_tokens.or(max_tokens),
    }
}
