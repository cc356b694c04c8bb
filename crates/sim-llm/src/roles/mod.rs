//! Which agent is asking, and its answer. Every answer is a pure function of the request
//! and the config, so a recorded run replays byte for byte.

mod arguments;
mod chat;
mod evidence;
mod history;
mod intent;
mod judge;
mod keywords;
mod plan;
mod reflection;
mod report;
mod research;
mod text_action;
mod verdict;

use serde_json::Value;

use crate::config::SimConfig;
use crate::text_form::TextForm;
use crate::wire::ChatRequest;

/// What the assistant says back: text, or one tool call.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Content(String),
    /// Text stopped at the token limit (`finish_reason: length`).
    Cut(String),
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
}

impl Reply {
    fn json(value: &Value) -> Self {
        Self::Content(value.to_string())
    }
}

/// The agent roles, told apart by the request shape (see the agents' prompt contract).
#[derive(Debug, Clone, PartialEq)]
enum Role {
    /// User agent: persona, query and rubric from a purchase history.
    Intent,
    /// Research agent planning.
    Plan,
    /// Supervisor checking a plan, tool call or report.
    Verdict,
    /// Research agent restating critique in its own words.
    Reflection,
    /// RACE judge scoring two reports on a rubric.
    Judge,
    /// Research agent acting with tools (or writing its report).
    Research,
    /// The same, through the text form: tools listed in the prompt, calls written as text.
    TextResearch(TextForm),
    /// Anything else.
    Other,
}

impl Role {
    fn of(request: &ChatRequest) -> Self {
        match request.schema_name() {
            Some("intent") => Self::Intent,
            Some("plan") => Self::Plan,
            Some("verdict") => Self::Verdict,
            Some("reflection") => Self::Reflection,
            Some("race_judge") => Self::Judge,
            // A catalog in the prompt means the text form even though no `tools` were sent.
            _ => match request.text_form() {
                Some(form) => Self::TextResearch(form),
                None if !request.wants_json() && !request.offered_tools().is_empty() => Self::Research,
                None => Self::Other,
            },
        }
    }
}

/// A stable number for `text`, so choices that vary across a batch are the same
/// for the same request on every run: FNV-1a, then SplitMix64's finalizer (FNV's
/// low bits barely differ between similar queries, and the choices read them).
fn seed(text: &str) -> u64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The simulated model's answer to `request`.
pub fn answer(request: &ChatRequest, config: &SimConfig) -> Reply {
    if config.repeat_on_reask
        && let Some(previous) = reasked_answer(request)
    {
        return Reply::Cut(previous);
    }
    match Role::of(request) {
        Role::Intent => Reply::json(&intent::answer(request)),
        Role::Plan => Reply::json(&plan::answer(request)),
        Role::Verdict => Reply::json(&verdict::answer(request, config)),
        Role::Reflection => Reply::json(&reflection::answer(request)),
        Role::Judge => Reply::json(&judge::answer(request)),
        Role::Research => research::answer(request, config),
        Role::TextResearch(form) => text_action::answer(request, config, &form),
        Role::Other => chat::answer(request),
    }
}

/// The assistant's answer a re-ask hands back: the last message says the
/// last answer could not be used and the one before it is that answer.
fn reasked_answer(request: &ChatRequest) -> Option<String> {
    let [.., answer, reask] = request.messages.as_slice() else { return None };
    let reasking = reask.role == "user" && reask.text().starts_with("Your last answer could not be used");
    (reasking && answer.role == "assistant").then(|| answer.text())
}
