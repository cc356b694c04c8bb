//! Runs of recorded feedback: the supervisor's words must not reach the
//! training data. The rule is the record crate's
//! ([`productresearch_record::echo`]), which the supervisor's
//! `echoed_feedback` check shares: a run of `n` words of recorded feedback
//! is an echo unless the example's own sources (the query, a tool result)
//! hold it or the agent wrote it before that feedback.
//!
//! Here every recorded feedback counts, an approval's advice included: the
//! supervisor sends back only rejections, but any of its words in an
//! example would teach the agent to speak as the supervisor. The
//! `feedback_echo` filter looks for such a run, and the internalization
//! condenses its reasoning until there is none.

use productresearch_record::{EventBody, Trajectory};

pub use productresearch_record::echo::FeedbackRuns as Echo;

/// The default shortest run of feedback words that counts as an echo.
pub const ECHO_WORDS: usize = 8;

/// The non-empty verdict feedback recorded in `trajectory`, in order.
pub fn recorded_feedback(trajectory: &Trajectory) -> Vec<&str> {
    trajectory
        .events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Verdict(v) if !v.feedback.trim().is_empty() => Some(v.feedback.as_str()),
            _ => None,
        })
        .collect()
}

/// The runs of `n` words of `trajectory`'s recorded feedback an example
/// whose sources are `sources` may not repeat.
pub fn banned<'a>(trajectory: &Trajectory, sources: impl IntoIterator<Item = &'a str>, n: usize) -> Echo {
    Echo::of(trajectory, n, |_| true, sources)
}

/// The first run of `n` words `text` shares with `source`, if any.
pub fn shared_run(text: &str, source: &str, n: usize) -> Option<String> {
    Echo::of_texts(&[source], [], n).find(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::fixtures::Script;
    use productresearch_record::{Step, StepKind, SupervisorState, TerminationReason, TokenUsage, Verdict};

    #[test]
    fn an_approvals_advice_counts_here() {
        let advice = "Approved, though next time weigh the warranty terms of each brand before the price.";
        let mut approval = Verdict::approve(SupervisorState::CheckReport);
        approval.feedback = advice.into();
        let report = Step::text(StepKind::Report, "Report.", TokenUsage::default(), "m");
        let t = Script::new("t", "kettles").step(report, Some(approval)).end(TerminationReason::Approved);
        let text = "I weigh the warranty terms of each brand before the price";
        assert_eq!(banned(&t, [], 8).find(text).as_deref(), Some("weigh the warranty terms of each brand before"));
        // The supervisor's rule counts only rejections.
        assert_eq!(Echo::of(&t, 8, |v| !v.approved(), []).find(text), None);
        assert_eq!(shared_run("so: weigh the warranty", advice, 3).as_deref(), Some("weigh the warranty"));
    }
}
