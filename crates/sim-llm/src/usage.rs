//! Token counts: a deterministic estimate (a quarter token per character, rounded up), not
//! a tokenizer; it only has to grow with the text so budgets and pacing behave plausibly.

use crate::roles::Reply;
use crate::wire::{ChatRequest, Usage};

fn tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

/// Over all message contents and the arguments of tool calls already made.
pub fn prompt_tokens(request: &ChatRequest) -> u64 {
    let chars: usize = request
        .messages
        .iter()
        .map(|m| {
            let calls: usize = m.tool_calls.iter().flatten().map(|c| c.function.arguments.chars().count()).sum();
            m.text().chars().count() + calls
        })
        .sum();
    tokens(chars)
}

pub fn completion_tokens(reply: &Reply) -> u64 {
    match reply {
        Reply::Content(text) | Reply::Cut(text) => tokens(text.chars().count()),
        Reply::ToolCall { arguments, .. } => tokens(arguments.chars().count()),
    }
}

pub fn usage(request: &ChatRequest, reply: &Reply) -> Usage {
    let prompt_tokens = prompt_tokens(request);
    let completion_tokens = completion_tokens(reply);
    Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
}
