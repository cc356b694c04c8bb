//! The rewriting rules: a feedback sentence loses its label and its
//! attribution, turns from the second person to the first, from a shortcoming
//! to a requirement and from an instruction to an intention; the draft's
//! artifacts become the step to come, and review and role words become plain.

use productresearch_record::StepKind;

use super::lexicon::{
    AFTER_SUBJECT, ARTIFACTS, ATTRIBUTION_OPENERS, ATTRIBUTIONS, BEFORE_SUBJECT, DROPPED_LABELS, IMPERATIVES, PLAIN_REVIEW_WORDS,
    PREDICATES, REQUIREMENTS, ROLE_REPLACEMENTS, SOURCES, SUBJECTS,
};
use super::text::{decapitalize_word, match_case, replace_phrase, replace_substring, strip_prefix_ci, tokenize};
use crate::vocabulary::{EARLIER_DRAFTS, role_word_in};

/// A plan's or report's shortcoming as a requirement of the one to come:
/// `does not X` → `should X`, `lacks X` → `needs X`, `is missing X` → `needs X`.
pub(super) fn as_requirement(s: &str, kind: StepKind) -> String {
    if !matches!(kind, StepKind::Plan | StepKind::Report) {
        return s.to_string();
    }
    let mut out = s.to_string();
    for (from, to) in REQUIREMENTS {
        out = replace_phrase(&out, from.trim_end(), to.trim_end());
    }
    out
}

/// Drops list bullets and rewrites a leading label: `Reviewer:` and `Issue:` go,
/// `Missing: X` becomes `it is missing X`, a short verdict such as
/// `Arguments invalid: X` becomes a sentence of its own. A polite opener
/// (`Good start, but X`) goes too: only the lesson is kept.
pub(super) fn strip_label(s: &str) -> String {
    let mut s = s.trim_start_matches(['-', '*', '•', ' ', '\t']);
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 && s[digits..].starts_with(['.', ')']) {
        s = s[digits + 1..].trim_start();
    }
    if let Some(but) = s.to_ascii_lowercase().find(", but ")
        && s[..but].split_whitespace().count() <= 4
    {
        s = s[but + ", but ".len()..].trim_start();
    }
    let Some(colon) = s.find(':').filter(|&c| c <= 40) else {
        return s.to_string();
    };
    // A Markdown heading as a label ("## Revisions:") is a label too.
    let label = s[..colon].trim().trim_start_matches('#').trim().to_ascii_lowercase();
    let rest = s[colon + 1..].trim_start();
    if role_word_in(&label).is_some() || DROPPED_LABELS.contains(&label.as_str()) {
        return rest.to_string();
    }
    match label.as_str() {
        "missing" => format!("it is missing {rest}"),
        "hallucination" | "hallucination detected" | "unsupported" | "unsupported claim" | "unsupported claims" => {
            format!("I cannot back this up: {rest}")
        }
        _ if label.split_whitespace().count() <= 3 && !label.contains(['"', '\'', '{']) => {
            format!("{}. {rest}", s[..colon].trim())
        }
        _ => s.to_string(),
    }
}

/// Removes who said it: `The supervisor wants you to add X` → `I need to add X`,
/// `Per the reviewer's notes, the plan ...` → `the plan ...`.
pub(super) fn strip_attribution(s: &str) -> String {
    let s = s.trim();
    for source in SOURCES {
        let Some(rest) = strip_prefix_ci(s, source) else {
            continue;
        };
        let rest = rest.trim_start();
        for &(verb, replacement) in ATTRIBUTIONS {
            if let Some(content) = strip_prefix_ci(rest, verb.trim_start()) {
                return format!("{replacement}{}", content.trim_start());
            }
        }
    }
    // A short opening clause that names the source ("Per the feedback,",
    // "As the reviewer said,") carries nothing but the attribution. Other clauses
    // with a role word ("Reviewers complain about noise, ...") carry content and
    // are left to `scrub`.
    if let Some(comma) = s.find(',') {
        let clause = &s[..comma];
        let opener = clause.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        if clause.split_whitespace().count() <= 8 && ATTRIBUTION_OPENERS.contains(&opener.as_str()) && role_word_in(clause).is_some() {
            return s[comma + 1..].trim_start().to_string();
        }
    }
    s.to_string()
}

/// Second person → first person (`you` → `I`/`me`, `your` → `my`).
pub(super) fn to_first_person(s: &str) -> String {
    let mut tokens = tokenize(s);
    let words: Vec<usize> = (0..tokens.len()).filter(|&i| tokens[i].0).collect();
    for (w, &i) in words.iter().enumerate() {
        let lower = tokens[i].1.to_lowercase().replace('’', "'");
        let prev = w.checked_sub(1).map(|p| tokens[words[p]].1.to_lowercase());
        let next = words.get(w + 1).map(|&n| tokens[n].1.to_lowercase());
        let replacement = match lower.as_str() {
            "you're" => "I'm",
            "you've" => "I've",
            "you'll" => "I'll",
            "you'd" => "I'd",
            "yourself" | "yourselves" => "myself",
            "yours" => "mine",
            "your" => "my",
            "you" => {
                let subject = prev.as_deref().is_none_or(|p| BEFORE_SUBJECT.contains(&p))
                    || next.as_deref().is_some_and(|n| AFTER_SUBJECT.contains(&n));
                if subject {
                    // Agreement: "you are" → "I am", "were you" → "was I".
                    for neighbour in [words.get(w + 1), w.checked_sub(1).map(|p| &words[p])].into_iter().flatten() {
                        let fixed = match tokens[*neighbour].1.to_lowercase().as_str() {
                            "are" => Some("am"),
                            "were" => Some("was"),
                            "aren't" => Some("am not"),
                            "weren't" => Some("wasn't"),
                            _ => None,
                        };
                        if let Some(f) = fixed {
                            tokens[*neighbour].1 = match_case(&tokens[*neighbour].1, f);
                        }
                    }
                    "I"
                } else {
                    "me"
                }
            }
            _ => continue,
        };
        tokens[i].1 = if replacement.starts_with('I') { replacement.to_string() } else { match_case(&tokens[i].1, replacement) };
    }
    tokens.into_iter().map(|(_, t)| t).collect()
}

/// What a step of `kind` makes. The draft is not in the example, so a lesson
/// about it is about the plan, report or call to come.
fn artifact_of(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Plan => "plan",
        StepKind::Report => "report",
        StepKind::ToolCall | StepKind::ToolResult => "call",
    }
}

/// The step's own artifacts become the agent's: `the plan` → `my plan`.
pub(super) fn own_artifacts(s: &str, kind: StepKind) -> String {
    let nouns: &[&str] = match kind {
        StepKind::Plan => &["plan"],
        StepKind::Report => &["report"],
        StepKind::ToolCall => &["tool call", "call", "query", "search", "arguments"],
        StepKind::ToolResult => &["tool call", "call", "search"],
    };
    // A considered call was never made: it is "that call", not "my call".
    let owner = if kind == StepKind::ToolCall { "that" } else { "my" };
    let artifact = artifact_of(kind);
    let mut out = s.to_string();
    for det in ["the", "this", "my", "your"] {
        out = replace_phrase(&out, &format!("{det} draft"), &format!("{owner} {artifact}"));
    }
    for noun in nouns {
        for det in ["the", "this", "these"] {
            // "these arguments" of a call never made are "those arguments".
            let owner = if det == "these" && owner == "that" { "those" } else { owner };
            out = replace_phrase(&out, &format!("{det} {noun}"), &format!("{owner} {noun}"));
        }
    }
    out
}

/// An instruction becomes an intention: `Add X` → `I should add X`,
/// `Don't repeat Y` → `I should not repeat Y`; `Plan lacks Z` → `my plan lacks Z`.
pub(super) fn imperative_to_intention(s: &str) -> String {
    let s = s.trim();
    let mut words = s.splitn(3, ' ');
    let first = words.next().unwrap_or("").to_lowercase().replace('’', "'");
    let second = words.next().unwrap_or("").to_lowercase();
    let after_first = s[s.find(' ').unwrap_or(s.len())..].trim_start();
    let after_second = s.splitn(3, ' ').nth(2).unwrap_or("");
    match first.as_str() {
        "please" => {
            // "Please" always opens an instruction, even with a verb not listed.
            let inner = imperative_to_intention(after_first);
            return if inner.starts_with("I ") { inner } else { format!("I should {}", decapitalize_word(&inner)) };
        }
        "don't" | "dont" => return format!("I should not {after_first}"),
        "do" if second == "not" => return format!("I should not {after_second}"),
        "never" => return format!("I should never {after_first}"),
        "should" | "must" => return format!("I {first} {after_first}"),
        "need" if second == "to" => return format!("I need to {after_second}"),
        _ => {}
    }
    if ARTIFACTS.contains(&first.as_str()) && PREDICATES.contains(&second.as_str()) {
        return format!("my {}{}", first, &s[first.len()..]);
    }
    if IMPERATIVES.contains(&first.as_str()) {
        return format!("I should {}{}", first, &s[first.len()..]);
    }
    s.to_string()
}

/// Review and draft vocabulary the rewrite kept from the feedback
/// (`## Revisions`, `my previous attempt`), in plain words: the draft is not in
/// the example, so a lesson speaks of the step to come.
pub(super) fn plain_words(s: &str, kind: StepKind) -> String {
    let artifact = artifact_of(kind);
    let mut out = s.to_string();
    for &(phrase, plain) in PLAIN_REVIEW_WORDS {
        out = replace_substring(&out, phrase, plain);
    }
    // "my previous attempt" → "my plan": a determiner before the phrase stays.
    for phrase in EARLIER_DRAFTS {
        out = replace_substring(&out, phrase, artifact);
    }
    for det in ["my", "the"] {
        out = replace_substring(&out, &format!("{det} draft"), &format!("{det} {artifact}"));
    }
    out
}

/// Replaces whatever role words remain, so the result never names the second
/// role: word-level first (readable), then any substring (guaranteed).
pub(super) fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    for &(word, replacement) in ROLE_REPLACEMENTS {
        out = replace_phrase(&out, word, replacement);
    }
    for (word, replacement) in [("supervisor", "check"), ("reviewer", "review author"), ("feedback", "input")] {
        out = replace_substring(&out, word, replacement);
    }
    out
}

/// Lowercases the first letter of a sentence that starts with a common word
/// (never `I`, an acronym or a name).
pub(super) fn decapitalize(s: &str) -> String {
    let first = s.split(|c: char| !c.is_alphanumeric() && c != '\'').next().unwrap_or("");
    if first == "I" || first.starts_with("I'") || !starts_with_subject(s) {
        return s.to_string();
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// True when the sentence opens with a subject, so it can follow "I notice that".
pub(super) fn starts_with_subject(s: &str) -> bool {
    let first = s.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’').next().unwrap_or("").to_lowercase().replace('’', "'");
    SUBJECTS.contains(&first.as_str())
}
