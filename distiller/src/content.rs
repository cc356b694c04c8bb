//! Filters on what the exported conversation says, not on its structure:
//!
//! - feedback echo: the supervisor's words must not reach the training data.
//!   A run of N or more words of any recorded verdict feedback appearing in an
//!   assistant turn (content or reasoning) is an echo, unless the run also
//!   appears in the query or a tool result (a product title the feedback quoted
//!   is the tools' text, not the supervisor's). Review vocabulary ("## Revisions",
//!   "Addressed:", "supervisor", "feedback said") is an echo of any length.
//! - invisible drafts: a rejected draft never reaches the example, so reasoning
//!   that looks back at one ("Looking back at my draft…", "my previous attempt")
//!   refers to something the trained model will never have seen.

use std::collections::HashSet;

use productresearch_record::{EventBody, Trajectory};

use crate::internalize::Message;

/// Phrases that only a transcript with a reviewer would contain, matched
/// case-insensitively in assistant content and reasoning. Bare "reviewer" and
/// "feedback" are not here: product reports quote reviewers and customer
/// feedback (the reasoning's stricter word list is [`crate::reflection::ROLE_WORDS`]).
pub const REVIEW_PHRASES: &[&str] = &[
    "supervisor",
    "## revisions",
    "revisions –",
    "revisions -",
    "addressed:",
    "feedback said",
    "feedback says",
    "per the feedback",
    "feedback on my",
    "feedback on your",
    "your feedback",
    "the critique",
    "reviewer's feedback",
    "the reviewer asked",
    "the reviewer wants",
    "revision request",
    "as requested in the review",
];

/// Phrases that point at an earlier draft or attempt of the agent's own.
pub const DRAFT_PHRASES: &[&str] = &[
    "looking back at my",
    "my draft",
    "the draft",
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
    "i was about to make",
    "i revised",
    "i have revised",
    "i've revised",
    "revised report",
    "revised plan",
    "this revision",
    "my revision",
    "unlike before",
];

/// The default shortest run of feedback words that counts as an echo.
pub const ECHO_WORDS: usize = 8;

/// The first run of `n` words `text` shares with `source`, if any.
pub fn shared_run(text: &str, source: &str, n: usize) -> Option<String> {
    let source: HashSet<String> = grams(&words(source), n).collect();
    grams(&words(text), n).find(|g| source.contains(g))
}

/// The first [`DRAFT_PHRASES`] entry `text` contains, ignoring case.
pub fn draft_phrase_in(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    DRAFT_PHRASES.iter().copied().find(|p| lower.contains(p))
}

/// The assistant texts of `messages`: (index, which part, text).
fn assistant_texts(messages: &[Message]) -> impl Iterator<Item = (usize, &'static str, &str)> {
    messages.iter().enumerate().flat_map(|(i, m)| match m {
        Message::Assistant { content, reasoning_content, .. } => {
            vec![(i, "content", content.as_str()), (i, "reasoning", reasoning_content.as_deref().unwrap_or(""))]
        }
        _ => Vec::new(),
    })
}

/// Lowercase words (runs of letters and digits).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn grams(words: &[String], n: usize) -> impl Iterator<Item = String> + '_ {
    words.windows(n).map(|w| w.join(" "))
}

/// Checks that no assistant turn echoes the trajectory's feedback (runs of
/// `min_words` words; 0 checks only the vocabulary); what was checked on success.
pub fn feedback_echo(trajectory: &Trajectory, messages: &[Message], min_words: usize) -> Result<String, String> {
    for (i, part, text) in assistant_texts(messages) {
        let lower = text.to_lowercase();
        if let Some(p) = REVIEW_PHRASES.iter().find(|p| lower.contains(*p)) {
            return Err(format!("message {i} ({part}) uses review vocabulary {p:?}"));
        }
    }
    let feedback: Vec<&str> = trajectory
        .events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Verdict(v) if !v.feedback.trim().is_empty() => Some(v.feedback.as_str()),
            _ => None,
        })
        .collect();
    if min_words == 0 || feedback.is_empty() {
        return Ok(format!("no review vocabulary; {} feedback texts", feedback.len()));
    }
    // Runs the example's own sources contain are not the supervisor's words.
    let mut sources: HashSet<String> = HashSet::new();
    for m in messages {
        if let Message::User { content } | Message::Tool { content, .. } = m {
            sources.extend(grams(&words(content), min_words));
        }
    }
    let mut banned: HashSet<String> = HashSet::new();
    for f in &feedback {
        banned.extend(grams(&words(f), min_words).filter(|g| !sources.contains(g)));
    }
    for (i, part, text) in assistant_texts(messages) {
        if let Some(run) = grams(&words(text), min_words).find(|g| banned.contains(g)) {
            return Err(format!("message {i} ({part}) repeats {min_words} words of recorded feedback: {run:?}"));
        }
    }
    Ok(format!("no run of {min_words} words from {} feedback texts", feedback.len()))
}

/// Checks that no assistant turn refers to a draft or attempt the example
/// does not contain.
pub fn invisible_draft(messages: &[Message]) -> Result<(), String> {
    for (i, part, text) in assistant_texts(messages) {
        if let Some(p) = draft_phrase_in(text) {
            return Err(format!("message {i} ({part}) refers to a draft the example does not show: {p:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use productresearch_record::TerminationReason;

    use super::*;
    use crate::internalize::internalize;
    use crate::internalize::tests::{Script, supervised};

    const FEEDBACK: &str = "Several recommendations lack evidence; cite the product id and the facts behind each recommendation.";

    /// A report sent back with [`FEEDBACK`], then `report`; the reasoning is
    /// cleared (its rule-based lesson is checked on its own below).
    fn echoed(report: &str) -> (Trajectory, Vec<Message>) {
        let t = Script::new("t", "which kettle?")
            .plan("p", "", None)
            .tool("c1", "product_search", r#"{"query":"kettle"}"#, "Steel kettle with a 1.7 litre jar and auto shut off for tea")
            .report("draft", Some(FEEDBACK))
            .report(report, None)
            .end(TerminationReason::Approved);
        let mut m = internalize(&t, "sys").messages;
        for message in &mut m {
            if let Message::Assistant { reasoning_content, .. } = message {
                *reasoning_content = None;
            }
        }
        (t, m)
    }

    #[test]
    fn a_rule_based_lesson_that_keeps_the_feedbacks_wording_is_caught() {
        let t = Script::new("t", "which kettle?")
            .plan("p", "", None)
            .tool("c1", "product_search", r#"{"query":"kettle"}"#, "Steel kettle")
            .report("draft", Some(FEEDBACK))
            .report("Buy the kettle.", None)
            .end(TerminationReason::Approved);
        let err = feedback_echo(&t, &internalize(&t, "sys").messages, 8).unwrap_err();
        assert!(err.contains("(reasoning) repeats 8 words"), "{err}");
    }

    #[test]
    fn a_run_of_feedback_words_in_the_report_is_an_echo() {
        let (t, m) = echoed("Buy the kettle. I now cite the product id and the facts behind each recommendation.");
        let err = feedback_echo(&t, &m, 8).unwrap_err();
        assert!(err.contains("repeats 8 words") && err.contains("content"), "{err}");
        // Seven words are not a run of eight.
        let (t, m) = echoed("Buy the kettle: the facts behind each recommendation are below.");
        assert!(feedback_echo(&t, &m, 8).is_ok());
    }

    #[test]
    fn review_vocabulary_is_an_echo_of_any_length() {
        for report in
            ["Buy it.\n\n## Revisions\n- Addressed: thin evidence.", "As the supervisor asked, buy it.", "The feedback said buy it."]
        {
            let (t, m) = echoed(report);
            assert!(feedback_echo(&t, &m, 8).unwrap_err().contains("review vocabulary"), "{report}");
        }
        // Customers' feedback in a product report is not review vocabulary.
        let (t, m) = echoed("Buy it: customer feedback praises the lid.");
        assert!(feedback_echo(&t, &m, 8).is_ok());
    }

    #[test]
    fn runs_the_tools_returned_are_not_the_supervisors_words() {
        let t = Script::new("t", "which kettle?")
            .plan("p", "", None)
            .tool("c1", "product_search", r#"{"query":"kettle"}"#, "Steel kettle with a 1.7 litre jar and auto shut off")
            .report("draft", Some("Say that it is a steel kettle with a 1.7 litre jar and auto shut off."))
            .report("Buy the steel kettle with a 1.7 litre jar and auto shut off.", None)
            .end(TerminationReason::Approved);
        let mut m = internalize(&t, "s").messages;
        // The lesson restates the feedback; only the report is under test here.
        if let Some(Message::Assistant { reasoning_content, .. }) = m.last_mut() {
            *reasoning_content = None;
        }
        assert!(feedback_echo(&t, &m, 8).is_ok());
    }

    #[test]
    fn reasoning_counts_too() {
        let (t, mut m) = echoed("Buy the kettle.");
        if let Some(Message::Assistant { reasoning_content, .. }) = m.last_mut() {
            *reasoning_content = Some("I must cite the product id and the facts behind each recommendation.".into());
        }
        assert!(feedback_echo(&t, &m, 8).unwrap_err().contains("reasoning"));
    }

    #[test]
    fn references_to_unseen_drafts_are_caught() {
        let mut m = internalize(&supervised(), "s").messages;
        assert_eq!(invisible_draft(&m), Ok(()));
        if let Message::Assistant { reasoning_content, .. } = &mut m[2] {
            *reasoning_content = Some("Looking back at my draft plan, I notice it lacks warranties.".into());
        }
        assert!(invisible_draft(&m).unwrap_err().contains("looking back at my"));
    }
}
