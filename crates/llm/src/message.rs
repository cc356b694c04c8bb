//! What a caller sends and gets back, independent of the wire format.

use productresearch_record::{TokenUsage, ToolCall, ToolSpec};

/// Author of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions.
    System,
    /// The user (or the harness speaking for it).
    User,
    /// The model.
    Assistant,
    /// A tool's answer to a call.
    Tool,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Author.
    pub role: Role,
    /// Text, if any.
    pub content: Option<String>,
    /// Calls the assistant made.
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    fn text(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: Some(content.into()), tool_calls: Vec::new(), tool_call_id: None }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::text(Role::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::text(Role::User, content)
    }
    /// An assistant message with text.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::text(Role::Assistant, content)
    }
    /// An assistant message that calls tools.
    pub fn assistant_calls(content: Option<String>, calls: Vec<ToolCall>) -> Self {
        Self { role: Role::Assistant, content, tool_calls: calls, tool_call_id: None }
    }
    /// A tool's answer to call `id`.
    pub fn tool(id: impl Into<String>, content: impl Into<String>) -> Self {
        Self { role: Role::Tool, content: Some(content.into()), tool_calls: Vec::new(), tool_call_id: Some(id.into()) }
    }
}

/// Whether and how the model may call tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls; answer in text.
    None,
    /// A tool call, not a text answer yet (e.g. before the evidence a report
    /// needs has been gathered).
    Required,
}

/// A JSON schema the output must follow.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSchema {
    /// Schema name (also tells a simulated endpoint which role asks).
    pub name: String,
    /// The schema. Shared: a role sends the same schema with every request,
    /// and a thousand requests in flight each held a copy of the tree (~30 KB
    /// for the intent's).
    pub schema: std::sync::Arc<serde_json::Value>,
}

/// One chat-completions call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The conversation.
    pub messages: Vec<Message>,
    /// Tools offered: what the model is told about. Shared: every request
    /// of every session offers the same list, which is not copied per call.
    pub tools: std::sync::Arc<[ToolSpec]>,
    /// The tools callable in this answer when fewer or narrower than `tools`
    /// (same names, argument schemas that admit a subset). `tools` stays what
    /// the model is told about, so a text-form prompt does not change from one
    /// step to the next and the endpoint's prompt cache holds; this narrows
    /// the answer's grammar and its validation. `None`: all of `tools`.
    pub callable: Option<Vec<ToolSpec>>,
    /// Tool choice (endpoint default when unset).
    pub tool_choice: Option<ToolChoice>,
    /// Constrain the output to this schema (sent only when the endpoint's
    /// `structured_output` is on; the caller still validates).
    pub json_schema: Option<JsonSchema>,
    /// Overrides the endpoint's max_tokens.
    pub max_tokens: Option<u32>,
    /// The answer is free prose (a report), not JSON: the endpoint's
    /// `prose_extra_body` is sent too.
    pub prose: bool,
    /// Overrides the endpoint's temperature (a step asked for again after it
    /// was sent back).
    pub temperature: Option<f32>,
}

/// What the model answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// Text, if any.
    pub content: Option<String>,
    /// Tool calls, if any.
    pub tool_calls: Vec<ToolCall>,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// Why generation stopped, as the endpoint says.
    pub finish_reason: Option<String>,
    /// Model that answered.
    pub model: String,
}
