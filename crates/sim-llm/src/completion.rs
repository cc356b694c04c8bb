//! The chat.completion envelope around a reply.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::roles::Reply;
use crate::usage::usage;
use crate::wire::{AssistantMessage, ChatCompletion, ChatRequest, Choice, FunctionCall, ToolCall};

/// `index` is the request's arrival index, which keeps ids unique per server.
pub fn envelope(index: u64, request: &ChatRequest, reply: Reply) -> ChatCompletion {
    let usage = usage(request, &reply);
    let (message, finish_reason) = match reply {
        Reply::Content(text) => (AssistantMessage { role: "assistant", content: Some(text), tool_calls: None }, "stop"),
        Reply::Cut(text) => (AssistantMessage { role: "assistant", content: Some(text), tool_calls: None }, "length"),
        Reply::ToolCall { id, name, arguments } => {
            let call = ToolCall { id, kind: "function".to_owned(), function: FunctionCall { name, arguments } };
            (AssistantMessage { role: "assistant", content: None, tool_calls: Some(vec![call]) }, "tool_calls")
        }
    };
    ChatCompletion {
        id: format!("chatcmpl-sim-{index}"),
        object: "chat.completion",
        // Wall-clock like the real API; the answer itself never depends on it.
        created: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        model: request.model.clone(),
        choices: vec![Choice { index: 0, message, finish_reason, logprobs: None }],
        usage,
    }
}
