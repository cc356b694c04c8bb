//! Any request no agent role matches: a short, honest echo, so misrouted prompts are easy
//! to spot in recordings.

use serde_json::json;

use super::Reply;
use crate::wire::ChatRequest;

/// Enough of the question to recognise it.
const ECHO_WORDS: usize = 30;

pub fn answer(request: &ChatRequest) -> Reply {
    let asked = request.last_user_text().unwrap_or_default();
    let mut summary = asked.split_whitespace().take(ECHO_WORDS).collect::<Vec<_>>().join(" ");
    if asked.split_whitespace().count() > ECHO_WORDS {
        summary.push_str(" ...");
    }
    let text = if summary.is_empty() {
        "This is a simulated model; there was no question to answer.".to_owned()
    } else {
        format!("This is a simulated model. You asked: {summary}")
    };
    // A caller that asked for JSON must still get JSON back.
    if request.wants_json() { Reply::json(&json!({ "answer": text })) } else { Reply::Content(text) }
}
