//! The agent's own reflection, written from the supervisor's feedback.
//!
//! A single-role training example must read as if the agent caught its own
//! mistakes: a rejected step's feedback becomes a first-person reflection in the
//! reasoning of the next accepted step, and nothing may reveal that a second role
//! was involved. This version rewrites deterministically with a few rules (labels
//! and attributions removed, second person and imperatives turned into first
//! person, the remaining role words replaced); a later version asks a model, and
//! the raw transcript is kept so either can be re-run.

mod condense;
mod text;

pub use condense::condense;
use productresearch_record::{Step, StepKind};
use text::{capitalize, decapitalize_word, match_case, replace_phrase, replace_substring, sentences_of, strip_prefix_ci, tokenize};

use crate::vocabulary::{self, role_word_in};

/// The lesson of a rejected `step` given its `feedback`, as the agent's own
/// forethought before the step that replaced it: the rejected draft is not in
/// the example, so the reasoning must not look back at it ("Looking back at my
/// draft…" would refer to something the trained model never sees). Observations
/// about the draft become requirements of the step to come (`the plan does not
/// compare X` → `the plan should compare X`).
pub fn reflect(step: &Step, feedback: &str) -> String {
    let mut sentences = Vec::new();
    for range in sentences_of(feedback) {
        let s = strip_label(&feedback[range]);
        let s = strip_attribution(&s);
        let s = to_first_person(&s);
        let s = as_requirement(&s, step.kind);
        let s = own_artifacts(&s, step.kind);
        let s = imperative_to_intention(&s);
        let s = plain_words(&scrub(&s), step.kind);
        let s = s.trim().trim_end_matches([';', ',', ':']).trim_end();
        // A sentence that still names the review or an unseen draft after the
        // rewrite teaches nothing the others do not: it goes.
        if s.is_empty() || vocabulary::any_in(s).is_some() {
            continue;
        }
        let mut s = s.to_string();
        if !s.ends_with(['.', '!', '?']) {
            s.push('.');
        }
        sentences.push(s);
    }
    let text = forethought(&lead_of(step, true), &sentences);
    // The call's own arguments are quoted in the lead; should they read as
    // review or draft vocabulary, the lead names only the tool.
    if vocabulary::any_in(&text).is_some() { forethought(&lead_of(step, false), &sentences) } else { text }
}

/// The lesson's sentences after `lead`, as one first-person thought.
fn forethought(lead: &str, sentences: &[String]) -> String {
    let text = match sentences.split_first() {
        None => format!("{lead}, I want to get this step right before I take it."),
        Some((first, rest)) => {
            let lead = if starts_with_subject(first) {
                format!("{lead}, I keep in mind that {}", decapitalize(first))
            } else {
                format!("{lead}, one thing to get right: {}", decapitalize_word(first))
            };
            std::iter::once(lead).chain(rest.iter().map(|s| capitalize(s))).collect::<Vec<_>>().join(" ")
        }
    };
    scrub(&text)
}

/// `text` (the agent's own reasoning) with every mention of the second role
/// removed. Sentences without a role word are left exactly as they were, so the
/// agent's formatting survives.
pub fn neutralize(text: &str) -> String {
    if role_word_in(text).is_none() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for range in sentences_of(text) {
        let sentence = &text[range.clone()];
        if role_word_in(sentence).is_none() {
            continue;
        }
        out.push_str(&text[last..range.start]);
        let was_capital = sentence.chars().next().is_some_and(char::is_uppercase);
        let stripped = strip_attribution(sentence);
        out.push_str(&if was_capital { capitalize(&stripped) } else { stripped });
        last = range.end;
    }
    out.push_str(&text[last..]);
    scrub(&out)
}

/// How the forethought opens: before the step it prepares, or (for a result
/// that is in the example) looking at what came back.
fn lead_of(step: &Step, with_arguments: bool) -> String {
    let tool = |name: Option<&str>| name.filter(|n| !n.is_empty()).unwrap_or("tool").to_string();
    match step.kind {
        StepKind::Plan => "Before I settle on a plan".into(),
        StepKind::Report => "Before I write the report".into(),
        StepKind::ToolCall => {
            let call = step.tool_call.as_ref();
            let name = tool(call.map(|c| c.name.as_str()));
            // The arguments say which call was weighed; without them a lesson such
            // as "this repeats an earlier search" would point at nothing.
            match call.map(|c| c.arguments.trim()).filter(|a| with_arguments && !a.is_empty() && a.len() <= 300) {
                Some(args) => format!("Weighing a {name} call with {args}"),
                None => format!("Weighing a {name} call"),
            }
        }
        StepKind::ToolResult => format!("Looking at what the {} call returned", tool(step.tool_result.as_ref().map(|r| r.name.as_str()))),
    }
}

/// A plan's or report's shortcoming as a requirement of the one to come:
/// `does not X` → `should X`, `lacks X` → `needs X`, `is missing X` → `needs X`.
fn as_requirement(s: &str, kind: StepKind) -> String {
    if !matches!(kind, StepKind::Plan | StepKind::Report) {
        return s.to_string();
    }
    const RULES: &[(&str, &str)] = &[
        ("does not ", "should "),
        ("doesn't ", "should "),
        ("fails to ", "should "),
        ("is missing ", "needs "),
        ("are missing ", "need "),
        ("lacks ", "needs "),
        ("lack ", "need "),
        ("omits ", "should include "),
        ("ignores ", "should consider "),
    ];
    let mut out = s.to_string();
    for (from, to) in RULES {
        out = replace_phrase(&out, from.trim_end(), to.trim_end());
    }
    out
}

// ---- rewriting rules ------------------------------------------------------

/// Drops list bullets and rewrites a leading label: `Reviewer:` and `Issue:` go,
/// `Missing: X` becomes `it is missing X`, a short verdict such as
/// `Arguments invalid: X` becomes a sentence of its own. A polite opener
/// (`Good start, but X`) goes too: only the lesson is kept.
fn strip_label(s: &str) -> String {
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
    const DROPPED: &[&str] = &[
        "note",
        "issue",
        "issues",
        "problem",
        "problems",
        "reason",
        "verdict",
        "comment",
        "comments",
        "suggestion",
        "suggestions",
        "revise",
        "rejected",
        "revision needed",
        "revisions",
        "revisions needed",
        "changes needed",
        "addressed",
    ];
    if role_word_in(&label).is_some() || DROPPED.contains(&label.as_str()) {
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

/// Who may be named as the source of a lesson.
const SOURCES: &[&str] = &[
    "the supervisor's feedback",
    "the reviewer's feedback",
    "supervisor feedback",
    "reviewer feedback",
    "the supervisor",
    "the reviewer",
    "supervisor",
    "reviewer",
    "the feedback",
    "this feedback",
    "your feedback",
    "feedback",
];

/// What a source "does", and what the sentence says instead in the first person.
const ATTRIBUTIONS: &[(&str, &str)] = &[
    ("wants you to ", "I need to "),
    ("would like you to ", "I need to "),
    ("asks you to ", "I need to "),
    ("asked you to ", "I need to "),
    ("expects you to ", "I need to "),
    ("requires you to ", "I need to "),
    ("needs you to ", "I need to "),
    ("tells you to ", "I need to "),
    ("told you to ", "I need to "),
    ("wants ", "I need "),
    ("would like ", "I need "),
    ("asks for ", "I need "),
    ("asked for ", "I need "),
    ("expects ", "I need "),
    ("requires ", "I need "),
    ("needs ", "I need "),
    ("requests ", "I need "),
    ("calls for ", "I need "),
    ("suggests ", "I should consider "),
    ("suggested ", "I should consider "),
    ("recommends ", "I should consider "),
    ("says that ", ""),
    ("says ", ""),
    ("said that ", ""),
    ("said ", ""),
    ("notes that ", ""),
    ("noted that ", ""),
    ("points out that ", ""),
    ("pointed out that ", ""),
    ("mentions that ", ""),
    ("thinks that ", ""),
    ("thinks ", ""),
    ("feels that ", ""),
    ("believes that ", ""),
    ("found that ", ""),
    ("finds that ", ""),
    ("observes that ", ""),
    ("states that ", ""),
    ("is concerned that ", ""),
    ("complains that ", ""),
    ("flagged that ", ""),
    ("reports that ", ""),
    ("rejected this because ", ""),
    ("rejected it because ", ""),
    ("wants me to ", "I need to "),
    ("asked me to ", "I need to "),
    ("asks me to ", "I need to "),
    ("told me to ", "I need to "),
    ("rejected ", "I rejected "),
    ("rejects ", "I reject "),
    ("flagged ", "I noticed "),
    ("caught ", "I caught "),
    ("is: ", ""),
    (": ", ""),
];

/// Removes who said it: `The supervisor wants you to add X` → `I need to add X`,
/// `Per the reviewer's notes, the plan ...` → `the plan ...`.
fn strip_attribution(s: &str) -> String {
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
    const OPENERS: &[&str] = &["per", "based", "according", "as", "following", "given", "after", "in", "taking"];
    if let Some(comma) = s.find(',') {
        let clause = &s[..comma];
        let opener = clause.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        if clause.split_whitespace().count() <= 8 && OPENERS.contains(&opener.as_str()) && role_word_in(clause).is_some() {
            return s[comma + 1..].trim_start().to_string();
        }
    }
    s.to_string()
}

/// Second person → first person (`you` → `I`/`me`, `your` → `my`).
fn to_first_person(s: &str) -> String {
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
                const BEFORE_SUBJECT: &[&str] = &[
                    "that", "if", "when", "because", "so", "and", "but", "or", "before", "after", "unless", "until", "since", "as", "then",
                    "where", "while", "once", "whether", "do", "did", "does", "have", "can", "could", "should", "would", "will",
                    // Questions: "are you sure" → "am I sure".
                    "are", "were", "aren't", "weren't", "has", "had",
                ];
                const AFTER_SUBJECT: &[&str] = &[
                    "are", "were", "should", "must", "can", "could", "need", "have", "had", "did", "do", "don't", "didn't", "will",
                    "would", "might", "may", "aren't", "weren't", "haven't",
                ];
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

/// The step's own artifacts become the agent's: `the plan` → `my plan`.
fn own_artifacts(s: &str, kind: StepKind) -> String {
    let nouns: &[&str] = match kind {
        StepKind::Plan => &["plan"],
        StepKind::Report => &["report"],
        StepKind::ToolCall => &["tool call", "call", "query", "search", "arguments"],
        StepKind::ToolResult => &["tool call", "call", "search"],
    };
    // A considered call was never made: it is "that call", not "my call".
    let owner = if kind == StepKind::ToolCall { "that" } else { "my" };
    // The draft is not in the example: the lesson is about the plan or report
    // to come.
    let artifact = match kind {
        StepKind::Plan => "plan",
        StepKind::Report => "report",
        StepKind::ToolCall | StepKind::ToolResult => "call",
    };
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
fn imperative_to_intention(s: &str) -> String {
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
    const ARTIFACTS: &[&str] = &["plan", "report", "draft", "query", "call", "arguments", "search"];
    const PREDICATES: &[&str] = &[
        "is",
        "isn't",
        "was",
        "wasn't",
        "has",
        "hasn't",
        "had",
        "does",
        "doesn't",
        "did",
        "didn't",
        "lacks",
        "misses",
        "ignores",
        "repeats",
        "omits",
        "skips",
        "needs",
        "should",
        "must",
        "could",
        "would",
        "can",
        "cannot",
        "can't",
        "will",
        "won't",
        "seems",
        "looks",
        "contains",
        "includes",
        "uses",
        "covers",
        "relies",
        "returns",
        "fails",
        "focuses",
        "only",
        "too",
        "already",
        "still",
        "also",
        "duplicates",
        "overlaps",
    ];
    if ARTIFACTS.contains(&first.as_str()) && PREDICATES.contains(&second.as_str()) {
        return format!("my {}{}", first, &s[first.len()..]);
    }
    if IMPERATIVES.contains(&first.as_str()) {
        return format!("I should {}{}", first, &s[first.len()..]);
    }
    s.to_string()
}

/// Verbs that open an instruction.
const IMPERATIVES: &[&str] = &[
    "add",
    "include",
    "cite",
    "remove",
    "delete",
    "compare",
    "check",
    "verify",
    "use",
    "avoid",
    "search",
    "explain",
    "clarify",
    "mention",
    "cover",
    "consider",
    "focus",
    "provide",
    "expand",
    "rewrite",
    "revise",
    "fix",
    "drop",
    "narrow",
    "broaden",
    "specify",
    "state",
    "ensure",
    "make",
    "support",
    "justify",
    "give",
    "quantify",
    "restrict",
    "limit",
    "try",
    "replace",
    "split",
    "merge",
    "reorder",
    "look",
    "visit",
    "double-check",
    "address",
    "answer",
    "discuss",
    "summarize",
    "summarise",
    "prioritize",
    "prioritise",
    "reduce",
    "shorten",
    "keep",
    "move",
    "stop",
    "start",
    "be",
    "base",
    "choose",
    "confirm",
    "correct",
    "define",
    "describe",
    "emphasize",
    "filter",
    "find",
    "follow",
    "gather",
    "get",
    "go",
    "highlight",
    "identify",
    "incorporate",
    "organize",
    "pick",
    "put",
    "re-run",
    "rerun",
    "rank",
    "read",
    "recheck",
    "reconsider",
    "refine",
    "rephrase",
    "research",
    "respect",
    "restructure",
    "retrieve",
    "run",
    "separate",
    "show",
    "simplify",
    "sort",
    "stay",
    "stick",
    "tailor",
    "take",
    "tighten",
    "trim",
    "update",
    "validate",
    "write",
    "elaborate",
    "evaluate",
    "assess",
    "analyze",
    "analyse",
    "align",
    "adjust",
    "investigate",
    "quote",
];

/// Review and draft vocabulary the rewrite kept from the feedback
/// (`## Revisions`, `my previous attempt`), in plain words: the draft is not in
/// the example, so a lesson speaks of the step to come.
fn plain_words(s: &str, kind: StepKind) -> String {
    let artifact = match kind {
        StepKind::Plan => "plan",
        StepKind::Report => "report",
        StepKind::ToolCall | StepKind::ToolResult => "call",
    };
    const PLAIN: &[(&str, &str)] = &[
        ("as requested in the review", "as needed"),
        ("looking back at my", "looking at my"),
        ("i was about to make", "I might make"),
        ("revision request", "request"),
        ("## revisions", "changes"),
        ("revisions –", "changes –"),
        ("revisions -", "changes -"),
        ("addressed:", "covered:"),
        ("the critique", "this point"),
        ("i have revised", "I have changed"),
        ("i've revised", "I've changed"),
        ("i revised", "I changed"),
        ("revised report", "report"),
        ("revised plan", "plan"),
        ("this revision", "this step"),
        ("my revision", "my step"),
        ("unlike before, ", ""),
        ("unlike before", ""),
    ];
    // "my previous attempt" → "my plan": a determiner before the phrase stays.
    const ATTEMPTS: &[&str] = &[
        "previous draft",
        "earlier draft",
        "first draft",
        "previous version",
        "earlier version",
        "previous attempt",
        "earlier attempt",
        "last attempt",
        "first attempt",
        "second attempt",
    ];
    let mut out = s.to_string();
    for &(phrase, plain) in PLAIN {
        out = replace_substring(&out, phrase, plain);
    }
    for phrase in ATTEMPTS {
        out = replace_substring(&out, phrase, artifact);
    }
    for det in ["my", "the"] {
        out = replace_substring(&out, &format!("{det} draft"), &format!("{det} {artifact}"));
    }
    out
}

/// Replaces whatever role words remain, so the result never names the second
/// role: word-level first (readable), then any substring (guaranteed).
fn scrub(text: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("the supervisor's feedback", "this critique"),
        ("the reviewer's feedback", "this critique"),
        ("supervisor's feedback", "this critique"),
        ("reviewer's feedback", "this critique"),
        ("supervisor feedback", "this critique"),
        ("reviewer feedback", "this critique"),
        ("the feedback", "this critique"),
        ("this feedback", "this critique"),
        ("that feedback", "this critique"),
        ("your feedback", "this critique"),
        ("my feedback", "this critique"),
        ("any feedback", "any input"),
        ("the supervisor's", "my"),
        ("the reviewer's", "my"),
        ("supervisor's", "my"),
        ("the supervisor", "a careful check"),
        ("a supervisor", "a careful check"),
        ("supervisors", "checks"),
        ("supervisor", "check"),
        ("reviewers", "review authors"),
        ("reviewer's", "review author's"),
        ("reviewer", "review author"),
        ("feedbacks", "input"),
        ("feedback", "input"),
    ];
    let mut out = text.to_string();
    for &(word, replacement) in WORDS {
        out = replace_phrase(&out, word, replacement);
    }
    for (word, replacement) in [("supervisor", "check"), ("reviewer", "review author"), ("feedback", "input")] {
        out = replace_substring(&out, word, replacement);
    }
    out
}

/// (never `I`, an acronym or a name).
fn decapitalize(s: &str) -> String {
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
fn starts_with_subject(s: &str) -> bool {
    const SUBJECTS: &[&str] = &[
        "i", "i'm", "i've", "i'd", "i'll", "my", "it", "it's", "its", "there", "there's", "this", "that", "these", "those", "the", "some",
        "several", "many", "most", "all", "none", "no", "one", "only", "each", "every", "both", "neither", "a", "an", "nothing", "not",
        "half", "two",
    ];
    let first = s.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’').next().unwrap_or("").to_lowercase().replace('’', "'");
    SUBJECTS.contains(&first.as_str())
}

#[cfg(test)]
mod tests {
    use productresearch_record::{TokenUsage, ToolCall, ToolResult};

    use super::*;

    fn plan() -> Step {
        Step::text(StepKind::Plan, "1. search", TokenUsage::default(), "m")
    }

    fn report() -> Step {
        Step::text(StepKind::Report, "r", TokenUsage::default(), "m")
    }

    fn call() -> Step {
        Step::call(
            ToolCall { id: "c1".into(), name: "product_search".into(), arguments: r#"{"query":"budget blender"}"#.into() },
            "",
            TokenUsage::default(),
            "m",
        )
    }

    #[test]
    fn plan_feedback_becomes_first_person() {
        let r = reflect(&plan(), "The plan does not compare battery life. Add a step that checks warranty terms.");
        assert_eq!(
            r,
            "Before I settle on a plan, I keep in mind that my plan should compare battery life. \
             I should add a step that checks warranty terms."
        );
    }

    #[test]
    fn supervisor_attribution_is_removed() {
        let r = reflect(&report(), "The supervisor wants a price table for every model.");
        assert_eq!(r, "Before I write the report, I keep in mind that I need a price table for every model.");
        let r = reflect(&report(), "The supervisor wants you to cite your sources.");
        assert_eq!(r, "Before I write the report, I keep in mind that I need to cite my sources.");
    }

    #[test]
    fn reviewer_label_is_removed() {
        let r = reflect(&report(), "Reviewer: cite sources");
        assert_eq!(r, "Before I write the report, I keep in mind that I should cite sources.");
    }

    #[test]
    fn feedback_and_second_person_are_rewritten() {
        let r = reflect(&report(), "Per the feedback, you should compare warranties; don't repeat the intro. Your report is too long!");
        assert_eq!(
            r,
            "Before I write the report, I keep in mind that I should compare warranties. I should not repeat the intro. \
             My report is too long!"
        );
        assert_eq!(role_word_in(&r), None);
    }

    #[test]
    fn tool_call_reflection_names_the_call() {
        let r = reflect(&call(), "This query repeats an earlier search. Use a narrower query.");
        assert_eq!(
            r,
            "Weighing a product_search call with {\"query\":\"budget blender\"}, \
             I keep in mind that that query repeats an earlier search. I should use a narrower query."
        );
    }

    #[test]
    fn tool_result_reflection_names_the_tool() {
        let step = Step::result(ToolResult { call_id: "c1".into(), name: "web_visit".into(), content: "x".into(), is_error: false });
        let r = reflect(&step, "Irrelevant page.");
        assert_eq!(r, "Looking at what the web_visit call returned, one thing to get right: irrelevant page.");
    }

    #[test]
    fn labels_openers_and_questions_are_rewritten() {
        let r = reflect(&report(), "Missing: warranty terms.\n- Include prices in INR");
        assert_eq!(
            r,
            "Before I write the report, I keep in mind that it needs warranty terms. \
             I should include prices in INR."
        );
        let r = reflect(&report(), "Hallucination detected: the E310 is not in the catalog.");
        assert_eq!(r, "Before I write the report, I keep in mind that I cannot back this up: the E310 is not in the catalog.");
        let r = reflect(&call(), "Arguments invalid: 'limit' must be an integer.");
        assert!(r.ends_with("one thing to get right: arguments invalid. 'limit' must be an integer."), "{r}");
        let r = reflect(&report(), "Good start, but you should explain why the Ninja wins.");
        assert_eq!(r, "Before I write the report, I keep in mind that I should explain why the Ninja wins.");
        let r = reflect(&report(), "Are you sure the price is current? Double-check it.");
        assert_eq!(
            r,
            "Before I write the report, one thing to get right: am I sure the price is current? \
             I should double-check it."
        );
        let r = reflect(&call(), "The supervisor rejected the call as redundant.");
        assert!(r.ends_with("I keep in mind that I rejected that call as redundant."), "{r}");
    }

    #[test]
    fn no_lesson_looks_back_at_a_draft() {
        let feedbacks = ["The plan is vague.", "Your draft lacks prices.", "This repeats an earlier search.", "Irrelevant page."];
        for step in [plan(), report(), call()] {
            for f in feedbacks {
                let r = reflect(&step, f);
                assert_eq!(vocabulary::draft_phrase_in(&r), None, "{f:?} -> {r:?}");
            }
        }
    }

    #[test]
    fn review_and_draft_words_of_the_feedback_become_plain_ones() {
        let r = reflect(&plan(), "## Revisions: unlike before, my previous attempt skipped prices. The critique stands.");
        assert_eq!(r, "Before I settle on a plan, I keep in mind that my plan skipped prices. This point stands.");
        // Arguments that read as draft vocabulary leave the lead.
        let step = Step::call(
            ToolCall { id: "c1".into(), name: "web_search".into(), arguments: r#"{"query":"the draft beer kit"}"#.into() },
            "",
            TokenUsage::default(),
            "m",
        );
        assert_eq!(
            reflect(&step, "Use a narrower query."),
            "Weighing a web_search call, I keep in mind that I should use a narrower query."
        );
    }

    #[test]
    fn empty_feedback_still_reflects() {
        let r = reflect(&plan(), "  ");
        assert_eq!(r, "Before I settle on a plan, I want to get this step right before I take it.");
    }

    #[test]
    fn no_role_word_survives_any_phrasing() {
        let feedbacks = [
            "The supervisor wants a comparison.",
            "Reviewer: cite sources",
            "Supervisor feedback: the plan is vague.",
            "As the reviewer said, the report lacks prices.",
            "This was flagged by the supervisor because the reviewer's checklist failed.",
            "Address the feedback from the supervisory check.",
            "FEEDBACK: Reviewers on Amazon mention overheating; include that.",
            "Based on supervisor's feedback, add a table",
        ];
        for step in [plan(), report(), call()] {
            for f in feedbacks {
                let r = reflect(&step, f);
                assert_eq!(role_word_in(&r), None, "{f:?} -> {r:?}");
                assert!(!r.to_lowercase().contains("you"), "{f:?} -> {r:?}");
            }
        }
    }

    #[test]
    fn neutralize_keeps_clean_sentences_verbatim() {
        let own = "Step 1:\n- check prices\nThe supervisor said my plan lacks warranty checks, so I add one.";
        let n = neutralize(own);
        assert_eq!(n, "Step 1:\n- check prices\nMy plan lacks warranty checks, so I add one.");
        let clean = "I will compare the two blenders.\n\nThen write.";
        assert_eq!(neutralize(clean), clean);
        let n = neutralize("Following the reviewer's feedback, I search again. Customer feedback is mixed.");
        assert_eq!(n, "I search again. Customer input is mixed.");
        assert_eq!(role_word_in(&n), None);
    }
}
