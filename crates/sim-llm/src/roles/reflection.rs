//! Research agent reflection: critique restated as the agent's own lesson. The words naming
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

fn reflect(critique: &str) -> String {
    let clauses: Vec<String> = critique
        .split([';', '.', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|clause| {
            let lowered = lower_first(clause);
            let first = lowered.split_whitespace().next().unwrap_or_default();
            if IMPERATIVES.contains(&first) { lowered } else { format!("fix that {lowered}") }
        })
        .collect();
    let lesson = match clauses.as_slice() {
        [] => "double-check each step against what the user asked for".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    };
    scrub(&format!("Looking back, I should {lesson}."))
}

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
        assert!(r.starts_with("Looking back, I should fix that the check says"), "{r}");
        assert!(r.contains("add a step comparing price"), "{r}");
        let lower = r.to_lowercase();
        for (word, _) in BANNED {
            assert!(!lower.contains(word), "{r}");
        }
    }

    #[test]
    fn empty_feedback_line_takes_the_next_line() {
        assert_eq!(critique("Feedback:\n\nCite ids."), "Cite ids.");
        assert_eq!(reflect(""), "Looking back, I should double-check each step against what the user asked for.");
    }
}
