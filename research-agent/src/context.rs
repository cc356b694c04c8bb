//! The context policy: what the model sees when a trajectory outgrows its
//! context window.
//!
//! Prompt + max_tokens must fit the window. Tokens are estimated from
//! characters (3 per token, which over-counts English prose and JSON a little;
//! over-counting only elides earlier). When the estimate does not fit:
//! 1. tool results older than the last `keep_last_results` are replaced,
//!    oldest first, by a one-line note naming the tool and the size elided;
//! 2. if that is not enough, the kept results are cut to their head.
//!
//! The agent's own messages, the query and the plan are never elided. The
//! step records which call ids were elided, so the record shows what the model
//! actually saw.

use productresearch_llm::{Message, Role};
use productresearch_record::ToolSpec;

/// Characters per estimated token.
const CHARS_PER_TOKEN: usize = 3;
/// Tokens a chat template adds around each message.
const PER_MESSAGE_OVERHEAD: usize = 8;

/// Context policy settings.
#[derive(Debug, Clone, Copy)]
pub struct ContextPolicy {
    /// Window in tokens (`None`: unknown, nothing is elided).
    pub window: Option<u32>,
    /// Tokens reserved for the answer.
    pub reserve: u32,
    /// Most recent tool results always kept in full (when they fit).
    pub keep_last_results: usize,
}

/// The characters the tool specs add to every request (their schemas are
/// serialised to count them, so a tool list counts once, not per request:
/// see `ToolSet`).
pub(crate) fn tool_chars(tools: &[ToolSpec]) -> usize {
    tools.iter().map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len()).sum()
}

/// Estimated prompt tokens of a request whose tool specs take `tool_chars`.
fn estimate_with(messages: &[Message], tool_chars: usize) -> usize {
    let text: usize = messages
        .iter()
        .map(|m| m.content.as_deref().map_or(0, str::len) + m.tool_calls.iter().map(|c| c.arguments.len() + c.name.len()).sum::<usize>())
        .sum();
    (text + tool_chars) / CHARS_PER_TOKEN + messages.len() * PER_MESSAGE_OVERHEAD
}

/// A conversation fitted to the window for one request. The session's own
/// messages are moved in, not copied (a copy per request in flight was a
/// tenth of the research agent's memory at 1,000 trajectories), and
/// [`Restore`] hands them back whole after the call.
#[derive(Debug)]
pub struct Fitted {
    /// The messages to send.
    pub messages: Vec<Message>,
    /// The call ids whose results were elided or cut.
    pub elided: Vec<String>,
    /// What was replaced.
    pub restore: Restore,
}

/// The contents a fit replaced, by message index.
#[derive(Debug, Default)]
pub struct Restore(Vec<(usize, Option<String>)>);

impl Restore {
    /// `sent` (the fitted messages, back from the request) as they were
    /// before the fit.
    pub fn apply(self, mut sent: Vec<Message>) -> Vec<Message> {
        for (i, content) in self.0 {
            sent[i].content = content;
        }
        sent
    }
}

/// `messages` fitted to the policy's window, beside tool specs that take
/// `tool_chars` characters ([`tool_chars`]).
pub fn fit(mut out: Vec<Message>, tool_chars: usize, policy: &ContextPolicy) -> Fitted {
    let mut replaced = Vec::new();
    let Some(window) = policy.window else { return Fitted { messages: out, elided: Vec::new(), restore: Restore(replaced) } };
    let budget = (window.saturating_sub(policy.reserve) as usize).max(1);
    let mut elided = Vec::new();
    let results: Vec<usize> = out.iter().enumerate().filter(|(_, m)| m.role == Role::Tool).map(|(i, _)| i).collect();
    let keep_from = results.len().saturating_sub(policy.keep_last_results);
    for &i in &results[..keep_from] {
        if estimate_with(&out, tool_chars) <= budget {
            return Fitted { messages: out, elided, restore: Restore(replaced) };
        }
        let id = out[i].tool_call_id.clone().unwrap_or_default();
        let size = out[i].content.as_deref().map_or(0, str::len);
        let note = Some(format!("[elided to fit the context window: {size} characters of this tool result]"));
        replaced.push((i, std::mem::replace(&mut out[i].content, note)));
        elided.push(id);
    }
    // Still too large: cut the kept results to what is left, newest kept longest.
    for &i in results[keep_from..].iter() {
        let over = estimate_with(&out, tool_chars).saturating_sub(budget);
        if over == 0 {
            break;
        }
        let content = out[i].content.as_deref().unwrap_or_default();
        let keep_chars = content.len().saturating_sub(over * CHARS_PER_TOKEN + 64);
        let mut cut = keep_chars;
        while !content.is_char_boundary(cut) {
            cut -= 1;
        }
        let shown = Some(format!("{}\n[cut to fit the context window: {} of {} characters shown]", &content[..cut], cut, content.len()));
        replaced.push((i, std::mem::replace(&mut out[i].content, shown)));
        elided.push(out[i].tool_call_id.clone().unwrap_or_default());
    }
    Fitted { messages: out, elided, restore: Restore(replaced) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::ToolCall;

    fn convo(results: usize, size: usize) -> Vec<Message> {
        let mut m = vec![Message::system("sys"), Message::user("query")];
        for i in 0..results {
            let id = format!("call_{i}");
            m.push(Message::assistant_calls(None, vec![ToolCall { id: id.clone(), name: "web_visit".into(), arguments: "{}".into() }]));
            m.push(Message::tool(id, "x".repeat(size)));
        }
        m
    }

    #[test]
    fn nothing_changes_when_it_fits_or_the_window_is_unknown() {
        let m = convo(3, 300);
        let Fitted { messages: out, elided, .. } =
            fit(m.clone(), 0, &ContextPolicy { window: Some(10_000), reserve: 500, keep_last_results: 2 });
        assert_eq!(out, m);
        assert!(elided.is_empty());
        let out = fit(convo(50, 3000), 0, &ContextPolicy { window: None, reserve: 500, keep_last_results: 2 }).messages;
        assert_eq!(out.len(), 102);
    }

    #[test]
    fn oldest_results_go_first_and_the_last_ones_stay() {
        let m = convo(6, 3000);
        let policy = ContextPolicy { window: Some(4_000), reserve: 500, keep_last_results: 2 };
        let Fitted { messages: out, elided, restore } = fit(m.clone(), 0, &policy);
        assert!(estimate_with(&out, 0) <= 3_500, "{}", estimate_with(&out, 0));
        assert_eq!(elided.first().map(String::as_str), Some("call_0"));
        assert!(!elided.contains(&"call_5".to_string()));
        assert_eq!(out.last().unwrap().content.as_deref().unwrap().len(), 3000, "the newest result is whole");
        assert_eq!(out.len(), m.len(), "no message is removed, so calls stay paired");
        assert_eq!(restore.apply(out), m, "the conversation comes back whole");
    }

    #[test]
    fn kept_results_are_cut_when_eliding_is_not_enough() {
        let m = convo(2, 30_000);
        let policy = ContextPolicy { window: Some(8_000), reserve: 1_000, keep_last_results: 2 };
        let Fitted { messages: out, elided, restore } = fit(m.clone(), 0, &policy);
        assert!(estimate_with(&out, 0) <= 7_000);
        assert_eq!(elided.len(), 2);
        assert!(out[3].content.as_deref().unwrap().contains("cut to fit"));
        assert_eq!(restore.apply(out), m, "the conversation comes back whole");
    }
}
