//! Injected faults: which request gets one, and how a successful answer is spoiled.

use crate::config::{FaultKind, FaultRule, Trigger};
use crate::roles::Reply;

impl Trigger {
    /// Whether the request with this 0-based arrival index is hit.
    pub fn matches(&self, index: u64) -> bool {
        match self {
            Self::FirstN(n) => index < *n,
            Self::EveryNth(n) => *n > 0 && index % n == n - 1,
            Self::Requests(indices) => indices.contains(&index),
        }
    }
}

/// The first rule that hits request `index`.
pub fn select(rules: &[FaultRule], index: u64) -> Option<&FaultKind> {
    rules.iter().find(|r| r.trigger.matches(index)).map(|r| &r.kind)
}

/// Cuts the reply's payload in half. Every structured reply is one compact JSON object, and
/// no proper prefix of one parses, so the client's JSON handling is what gets tested.
pub fn garble(reply: Reply) -> Reply {
    match reply {
        Reply::Content(text) => Reply::Content(first_half(&text)),
        Reply::Cut(text) => Reply::Cut(first_half(&text)),
        Reply::ToolCall { id, name, arguments } => Reply::ToolCall { id, name, arguments: first_half(&arguments) },
    }
}

/// Characters of a [`cut_off`] answer: 512 tokens' worth, the cap the local
/// model's reports run into.
const CUT_OFF_CHARS: usize = 2_048;

/// The reply as a small model's report that pastes it as JSON: a heading,
/// then one line that runs on (the reply repeated) to the token limit and
/// stops mid-word, so nothing after the heading is whole.
pub fn cut_off(reply: Reply) -> Reply {
    let text = match reply {
        Reply::Content(text) | Reply::Cut(text) => text,
        Reply::ToolCall { arguments, .. } => arguments,
    };
    let pasted = serde_json::Value::String(vec![text.as_str(); CUT_OFF_CHARS / text.len().max(1) + 1].join(" "));
    Reply::Cut(format!("# Findings\n\n{{\"pasted\": {pasted}").chars().take(CUT_OFF_CHARS).collect())
}

/// A response body cut short, as from a proxy that dropped the connection mid-write.
pub fn malform(body: &str) -> String {
    first_half(body)
}

fn first_half(text: &str) -> String {
    let chars = text.chars().count();
    if chars < 2 {
        return "{".to_owned();
    }
    text.chars().take(chars / 2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_follow_their_definitions() {
        assert!(Trigger::FirstN(2).matches(1) && !Trigger::FirstN(2).matches(2));
        let hits: Vec<u64> = (0..9).filter(|&i| Trigger::EveryNth(3).matches(i)).collect();
        assert_eq!(hits, [2, 5, 8]);
        assert!(Trigger::Requests(vec![0, 4]).matches(4));
        assert!(!Trigger::EveryNth(0).matches(0));
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = vec![
            FaultRule { trigger: Trigger::Requests(vec![1]), kind: FaultKind::ServerError },
            FaultRule { trigger: Trigger::FirstN(5), kind: FaultKind::MalformedJson },
        ];
        assert_eq!(select(&rules, 1), Some(&FaultKind::ServerError));
        assert_eq!(select(&rules, 2), Some(&FaultKind::MalformedJson));
        assert_eq!(select(&rules, 5), None);
    }

    #[test]
    fn a_cut_off_answer_runs_to_the_limit() {
        for reply in [Reply::Content("## Findings".into()), Reply::ToolCall { id: "c".into(), name: "t".into(), arguments: "{}".into() }] {
            let Reply::Cut(text) = cut_off(reply) else { panic!("not cut") };
            assert_eq!(text.chars().count(), CUT_OFF_CHARS);
        }
    }

    #[test]
    fn garbled_json_never_parses() {
        for text in ["{}", r#"{"a":1}"#, r#"{"plan":"1. x"}"#, ""] {
            let Reply::Content(out) = garble(Reply::Content(text.to_owned())) else { unreachable!() };
            assert!(serde_json::from_str::<serde_json::Value>(&out).is_err(), "{out}");
        }
    }
}
