//! Filters on what the exported conversation says, not on its structure:
//!
//! - feedback echo: the supervisor's words must not reach the training data.
//!   A run of N or more words of any recorded verdict feedback appearing in an
//!   assistant turn (content or reasoning) is an echo, unless the run also
//!   appears in the query or a tool result (a product title the feedback quoted
//!   is the tools' text, not the supervisor's) or in the agent's own plan or
//!   report written before that feedback (which the feedback quoted). Review vocabulary ("## Revisions",
//!   "Addressed:", "supervisor", "feedback said") is an echo of any length.
//! - invisible drafts: a rejected draft never reaches the example, so reasoning
//!   that looks back at one ("Looking back at my draft…", "my previous attempt")
//!   refers to something the trained model will never have seen.

use productresearch_record::Trajectory;

use crate::echo;
use crate::internalize::Message;
use crate::vocabulary;

/// The assistant texts of `messages`: (index, which part, text).
fn assistant_texts(messages: &[Message]) -> impl Iterator<Item = (usize, &'static str, &str)> {
    messages.iter().enumerate().flat_map(|(i, m)| match m {
        Message::Assistant { content, reasoning_content, .. } => {
            vec![(i, "content", content.as_str()), (i, "reasoning", reasoning_content.as_deref().unwrap_or(""))]
        }
        _ => Vec::new(),
    })
}

/// Checks that no assistant turn echoes the trajectory's feedback (runs of
/// `min_words` words; 0 checks only the vocabulary); what was checked on success.
pub fn feedback_echo(trajectory: &Trajectory, messages: &[Message], min_words: usize) -> Result<String, String> {
    for (i, part, text) in assistant_texts(messages) {
        if let Some(p) = vocabulary::review_phrase_in(text) {
            return Err(format!("message {i} ({part}) uses review vocabulary {p:?}"));
        }
    }
    let feedback = echo::recorded_feedback(trajectory);
    if min_words == 0 || feedback.is_empty() {
        return Ok(format!("no review vocabulary; {} feedback texts", feedback.len()));
    }
    let echo = echo::banned(trajectory, messages.iter().filter_map(Message::source_text), min_words);
    for (i, part, text) in assistant_texts(messages) {
        if let Some(run) = echo.find(text) {
            return Err(format!("message {i} ({part}) repeats {min_words} words of recorded feedback: {run:?}"));
        }
    }
    Ok(format!("no run of {min_words} words from {} feedback texts", feedback.len()))
}

/// Checks that no assistant turn refers to a draft or attempt the example
/// does not contain.
pub fn invisible_draft(messages: &[Message]) -> Result<(), String> {
    for (i, part, text) in assistant_texts(messages) {
        if let Some(p) = vocabulary::draft_phrase_in(text) {
            return Err(format!("message {i} ({part}) refers to a draft the example does not show: {p:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use productresearch_record::TerminationReason;

    use super::*;
    use crate::echo::ECHO_WORDS;
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
        without_reasoning(t, "sys")
    }

    #[test]
    fn the_rule_based_lesson_keeps_the_wording_only_when_condensing_is_off() {
        let t = Script::new("t", "which kettle?")
            .plan("p", "", None)
            .tool("c1", "product_search", r#"{"query":"kettle"}"#, "Steel kettle")
            .report("draft", Some(FEEDBACK))
            .report("Buy the kettle.", None)
            .end(TerminationReason::Approved);
        let raw = crate::internalize::internalize_with(&t, "sys", &Default::default(), crate::internalize::final_report_seq(&t, true), 0);
        let err = feedback_echo(&t, &raw.messages, 8).unwrap_err();
        assert!(err.contains("(reasoning) repeats 8 words"), "{err}");
        assert_eq!(feedback_echo(&t, &internalize(&t, "sys").messages, 8), Ok("no run of 8 words from 1 feedback texts".into()));
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

    /// A plan sent back with feedback that restates `first`'s words, then
    /// a plan that keeps them; the exported messages without reasoning.
    fn replanned(first: &str) -> (Trajectory, Vec<Message>) {
        const OWN: &str = "Visit_product returns a full record of the work bag's information.";
        let feedback = "The plan is not complete: the tool does not return a full record of the work bag's information.";
        let t = Script::new("t", "which bag?")
            .plan(first.replace("OWN", OWN).as_str(), "", Some(feedback))
            .plan(&format!("1. Search the catalog. 2. {OWN}"), "", None)
            .tool("c1", "product_search", r#"{"query":"bag"}"#, "Canvas work bag, 15 L")
            .report("Buy the canvas work bag (15 L).", None)
            .end(TerminationReason::Approved);
        without_reasoning(t, "s")
    }

    /// `t` internalized with no reasoning, so only the turns' content is
    /// checked for echoes.
    fn without_reasoning(t: Trajectory, system: &str) -> (Trajectory, Vec<Message>) {
        let mut m = internalize(&t, system).messages;
        for message in &mut m {
            if let Message::Assistant { reasoning_content, .. } = message {
                *reasoning_content = None;
            }
        }
        (t, m)
    }

    #[test]
    fn runs_the_feedback_quoted_from_the_agent_are_the_agents_words() {
        let (t, m) = replanned("OWN");
        assert!(feedback_echo(&t, &m, 8).is_ok(), "{:?}", feedback_echo(&t, &m, 8));
        // The same words taken up only after the feedback are its echo.
        let (t, m) = replanned("Search the catalog.");
        assert!(feedback_echo(&t, &m, 8).unwrap_err().contains("a full record of the work bag"), "{:?}", feedback_echo(&t, &m, 8));
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

    /// Feedback the supervisor writes (its deterministic checks and the
    /// simulated model's critiques), a model's long critique, and adversarial
    /// shapes: one long sentence, quoted product names, lists, review words.
    const LONG_FEEDBACK: &[(&str, &str, &[&str])] = &[
        (
            "plan",
            "The plan does not say how the candidates will be compared; add a step that compares price, rating and review evidence.",
            &["compared", "price", "rating", "review evidence"],
        ),
        (
            "report",
            "Several recommendations lack evidence; cite the product id and the facts behind each recommendation, and state the price of each option.",
            &["product id", "facts", "price"],
        ),
        (
            "report",
            "The report rests on 1 tool result; a report needs at least 2. Call the tools first (product_search, then visit_product or web_search on what it returns) and write the report from their results.",
            &["1 tool result", "at least 2", "product_search", "visit_product"],
        ),
        (
            "report",
            "The report has only 24 words; answer the query in at least 40: recommend products by their [product_id] with prices and the evidence the tool results gave.",
            &["24 words", "[product_id]", "evidence"],
        ),
        (
            "report",
            "The report is unfinished (the report ends with a heading and nothing under it: \"…ve Guide to Battery Life and Comfort on Long Battery Commute\"); write the whole report and end it with a complete sentence.",
            &["heading", "complete sentence"],
        ),
        (
            "call",
            "You already called product_search with exactly these arguments; use that result, or change the arguments to learn something new.",
            &["product_search", "arguments", "something new"],
        ),
        (
            "report",
            "Your report recommends the Tranzit Commuter 22L Laptop Backpack but never explains why it beats the Urbanite Minimal 18L Laptop Backpack for a student who carries a 15 inch laptop every day and you do not mention that the Tranzit costs 119 which is far above the stated budget of 53 so the recommendation ignores the most important constraint of the query and the comparison table leaves out ratings and review counts for two of the three products which makes the ranking impossible to verify",
            &["Tranzit Commuter 22L Laptop Backpack", "Urbanite Minimal 18L Laptop Backpack", "119", "budget", "53"],
        ),
        (
            "report",
            "Issues:\n1. The comparison table is missing price, rating, battery life, weight, comfort, noise cancelling, charging time and codec support for each of the three headphones.\n2. The recommendation does not explain why the Aurion Quiet 700 is better than the Sonora Lite for long flights.\n- Cite the product id for every claim you make about battery life.",
            &["Aurion Quiet 700", "Sonora Lite", "battery life", "noise cancelling", "long flights"],
        ),
        (
            "plan",
            "## Revisions needed: Unlike before, the plan still searches the web before the catalog; the critique from the previous attempt was that the plan must search the catalog first, then open the two best products, then search the web for reviews of the leading candidates.",
            &["catalog", "web"],
        ),
    ];

    #[test]
    fn long_feedback_becomes_a_lesson_that_shares_no_run_with_it() {
        for (kind, feedback, terms) in LONG_FEEDBACK {
            let mut s = Script::new("t", "Which laptop backpack under 53 should a student choose?");
            match *kind {
                "plan" => s.plan("1. search", "", Some(feedback)).plan("1. search\n2. compare", "", None),
                _ => s.plan("1. search\n2. compare", "", None),
            };
            if *kind == "call" {
                s.call("c0", "product_search", r#"{"query":"laptop backpack"}"#, Some(feedback));
            }
            s.tool("c1", "product_search", r#"{"query":"student laptop backpack"}"#, "[bp-001] Tranzit $119; [bp-003] Urbanite $45");
            if *kind == "report" {
                s.report("Buy the Urbanite [bp-003].", Some(feedback));
            }
            let t = s.report("Buy the Urbanite [bp-003] at $45.", None).end(TerminationReason::Approved);
            let out = internalize(&t, "sys");
            assert_eq!(
                feedback_echo(&t, &out.messages, ECHO_WORDS),
                Ok(format!("no run of {ECHO_WORDS} words from 1 feedback texts")),
                "{feedback}"
            );
            assert_eq!(invisible_draft(&out.messages), Ok(()), "{feedback}");
            crate::validate::check(&crate::export::example(&t, &out, &[])).unwrap_or_else(|v| panic!("{v:?}: {feedback}"));
            let lead = match *kind {
                "plan" => "Before I settle on a plan, ",
                "call" => "Weighing a product_search call with {\"query\":\"laptop backpack\"}, ",
                _ => "Before I write the report, ",
            };
            let lesson = out
                .messages
                .iter()
                .find_map(|m| match m {
                    Message::Assistant { reasoning_content: Some(r), .. } if r.starts_with(lead) => Some(r.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no lesson opens with {lead:?}: {:?}", out.messages));
            for term in *terms {
                assert!(lesson.to_lowercase().contains(&term.to_lowercase()), "{term:?} lost from {lesson:?}");
            }
            assert_eq!(crate::vocabulary::any_in(&lesson), None, "{lesson}");
            eprintln!("{feedback}\n  -> {lesson}\n");
        }
    }
}
