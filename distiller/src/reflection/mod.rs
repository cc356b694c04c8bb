//! The agent's own reflection, written from the supervisor's feedback.
//!
//! A single-role training example must read as if the agent caught its own
//! mistakes: a rejected step's feedback becomes a first-person reflection in the
//! reasoning of the next accepted step, and nothing may reveal that a second role
//! was involved. This is the rule-based rewrite (labels and attributions
//! removed, second person and imperatives turned into first person, review and
//! role words replaced); [`crate::model_reflection`] asks a model instead, and
//! the raw transcript is kept so either can be re-run.
//!
//! The parts: `grammar.rs` holds the rewriting rules, `lexicon.rs` the words
//! they know, `text.rs` the sentence and word helpers, and `condense.rs`
//! ([`condense`]) breaks every run of recorded feedback words that survives
//! the rewrite.

mod condense;
mod grammar;
mod lexicon;
mod text;

pub use condense::condense;
use grammar::{
    as_requirement, decapitalize, imperative_to_intention, own_artifacts, plain_words, scrub, starts_with_subject, strip_attribution,
    strip_label, to_first_person,
};
use productresearch_record::{Step, StepKind};
use text::{capitalize, decapitalize_word, sentences_of};

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
