//! Research agent reflection: critique restated as the agent's own forethought. The words naming
//! who criticised are kept out, because the distilled training data must read as the
//! agent's own reasoning.

use serde_json::{Value, json};

use crate::conversation::lines_after;
use crate::wire::ChatRequest;

/// Never appear in a reflection (checked case-insensitively), with their stand-ins.
const BANNED: [(&str, &str); 3] = [("supervisor", "check"), ("reviewer", "check"), ("feedback", "critique")];

/// Critique clauses starting with one of these are already instructions.
const IMPERATIVES: &[&str] = &[
    "add", "avoid", "check", "cite", "clarify", "compare", "explain", "include", "give", "list", "make", "mention", "name", "open",
    "remove", "search", "show", "state", "use", "visit",
];

pub fn answer(request: &ChatRequest) -> Value {
    let text = request.last_user_text().unwrap_or_default();
    json!({ "reflection": reflect(&critique(&text)) })
}

/// The critique: text after each `Feedback:` line, or the line after it when that is empty.
fn critique(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut parts = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for rest in lines_after(line, "Feedback:") {
            if !rest.is_empty() {
                parts.push(rest);
            } else if let Some(next) = lines[i + 1..].iter().find(|l| !l.trim().is_empty()) {
                parts.push(next.trim().to_owned());
            }
        }
    }
    parts.join(" ")
}

/// The critique as forethought in the agent's own words: the things it names, as
/// what the next step must get right. Only its content words are kept, so no long
/// phrase of the critique is copied, and nothing looks back at a draft the
/// distilled example will not show.
fn reflect(critique: &str) -> String {
    let mut topics: Vec<String> = Vec::new();
    for word in critique.split(|c: char| !c.is_alphanumeric() && c != '-') {
        let word = lower_first(word).to_lowercase();
        if word.chars().count() > 3 && !FILLER.contains(&word.as_str()) && !IMPERATIVES.contains(&word.as_str()) && !topics.contains(&word)
        {
            topics.push(word);
        }
    }
    topics.truncate(8);
    let focus = match topics.as_slice() {
        [] => "each step answers what the user asked for".to_owned(),
        [one] => format!("the next step gets {one} right"),
        [init @ .., last] => format!("the next step gets {} and {last} right", init.join(", ")),
    };
    scrub(&format!("Before I go on, I make sure {focus}."))
}

/// Words of a critique that name no topic.
const FILLER: &[&str] = &[
    "that",
    "this",
    "these",
    "those",
    "with",
    "from",
    "into",
    "does",
    "have",
    "will",
    "would",
    "should",
    "could",
    "each",
    "every",
    "your",
    "their",
    "there",
    "then",
    "than",
    "what",
    "which",
    "when",
    "where",
    "while",
    "about",
    "behind",
    "several",
    "some",
    "more",
    "most",
    "much",
    "many",
    "also",
    "only",
    "just",
    "very",
    "lack",
    "lacks",
    "says",
    "said",
    "step",
    "plan",
    "report",
    "supervisor",
    "reviewer",
    "feedback",
    "found",
    "finds",
    "thinks",
    "wants",
    "needs",
];

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Replaces every banned word, whatever its case, with its stand-in.
fn scrub(text: &str) -> String {
    let mut out = text.to_owned();
    for (word, stand_in) in BANNED {
        // ASCII lowering keeps byte offsets valid for the original text.
        while let Some(at) = out.to_ascii_lowercase().find(word) {
            out.replace_range(at..at + word.len(), stand_in);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restates_in_first_person_without_naming_the_critic() {
        let text = "Your plan was revised.\nFeedback: The Supervisor says the plan does not say how \
                    candidates are compared; add a step comparing price and FEEDBACK.";
        let r = reflect(&critique(text));
        assert!(r.starts_with("Before I go on, I make sure the next step gets"), "{r}");
        assert_eq!(r, "Before I go on, I make sure the next step gets candidates, compared, comparing and price right.");
        let lower = r.to_lowercase();
        for (word, _) in BANNED {
            assert!(!lower.contains(word), "{r}");
        }
    }

    #[test]
    fn empty_feedback_line_takes_the_next_line() {
        assert_eq!(critique("Feedback:\n\nCite ids."), "Cite ids.");
        assert_eq!(reflect(""), "Before I go on, I make sure each step answers what the user asked for.");
    }
}
