//! Runs of recorded feedback: the supervisor's words must not come back
//! from the agent. A run of `n` words of verdict feedback recorded in a
//! trajectory is an echo unless the agent wrote it before that feedback (a
//! supervisor model restates the step it judges: "does not return a full
//! record of the work bag's information", of a plan that said "returns a
//! full record of the work bag's information") or one of the sources holds it
//! (the query, a tool result: a product title the feedback quoted is the
//! tools' text). A run the agent took up only after the feedback stays the
//! feedback's.
//!
//! One rule for both sides: the supervisor's `echoed_feedback` check sends a
//! report back for such a run, and the distiller's `feedback_echo` filter
//! and its internalization keep such runs out of the training data.

use crate::words::{self, RunSet, Words};
use crate::{EventBody, Trajectory, Verdict};

/// The runs of feedback words a text may not repeat.
#[derive(Debug, Clone, Default)]
pub struct FeedbackRuns {
    n: usize,
    banned: RunSet,
}

impl FeedbackRuns {
    /// The runs of `n` words (0: none) of the feedback of `trajectory`'s
    /// verdicts that `counts`, less the agent's own earlier runs and the runs
    /// of `sources`. The sources are read only when some run is left to clear:
    /// tool results are most of a record's text.
    pub fn of<'a>(
        trajectory: &Trajectory,
        n: usize,
        counts: impl Fn(&Verdict) -> bool,
        sources: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        if n == 0 {
            return Self::default();
        }
        let mut own = RunSet::default();
        let mut given = RunSet::default();
        for event in &trajectory.events {
            match &event.body {
                EventBody::Step(step) => {
                    own.extend(Words::alphanumeric(&step.text).runs(n).filter(|r| !given.contains(r)).collect::<Vec<_>>())
                }
                EventBody::Verdict(v) if counts(v) => {
                    given.extend(Words::alphanumeric(&v.feedback).runs(n).filter(|r| !own.contains(r)).collect::<Vec<_>>())
                }
                _ => {}
            }
        }
        Self { n, banned: given }.less(sources)
    }

    /// The runs of `n` words (0: none) of `feedback` that none of `sources`
    /// holds.
    pub fn of_texts<'a>(feedback: &[&str], sources: impl IntoIterator<Item = &'a str>, n: usize) -> Self {
        if n == 0 {
            return Self::default();
        }
        let banned = feedback.iter().flat_map(|f| Words::alphanumeric(f).runs(n).collect::<Vec<_>>()).collect();
        Self { n, banned }.less(sources)
    }

    fn less<'a>(mut self, sources: impl IntoIterator<Item = &'a str>) -> Self {
        if !self.banned.is_empty() {
            for source in sources {
                Words::alphanumeric(source).runs(self.n).for_each(|r| {
                    self.banned.remove(&r);
                });
            }
        }
        self
    }

    /// How many words make a run (0: nothing is banned).
    pub fn run_words(&self) -> usize {
        self.n
    }

    /// True when no run is banned.
    pub fn is_empty(&self) -> bool {
        self.banned.is_empty()
    }

    /// True when the `n` `words` (any case) are a banned run.
    pub fn bans<S: AsRef<str>>(&self, words: &[S]) -> bool {
        words.len() == self.n && self.bans_run(words::run_of(&words.iter().map(|w| words::hash_word(w.as_ref())).collect::<Vec<_>>()))
    }

    /// True when `run`, a hash of `n` words ([`words::runs`]), is banned.
    pub fn bans_run(&self, run: u64) -> bool {
        !self.banned.is_empty() && self.banned.contains(&run)
    }

    /// The first banned run in `text`, lowercase and joined by spaces.
    pub fn find(&self, text: &str) -> Option<String> {
        if self.banned.is_empty() {
            return None;
        }
        let words = Words::alphanumeric(text);
        let i = words.runs(self.n).position(|r| self.banned.contains(&r))?;
        Some(words.run_text(i, self.n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TerminationReason;
    use crate::fixtures::Script;

    const FEEDBACK: &str = "Several recommendations lack evidence; cite the product id and the facts behind each recommendation.";

    #[test]
    fn a_run_is_n_words_in_a_row_across_punctuation_and_case() {
        let echo = FeedbackRuns::of_texts(&[FEEDBACK], [], 8);
        assert_eq!(
            echo.find("So: I will CITE the product-id, and the facts behind it.").as_deref(),
            Some("cite the product id and the facts behind")
        );
        // Seven are not a run.
        assert_eq!(echo.find("I will cite the product id and facts behind it."), None);
        assert!(echo.bans(&["the", "Product", "id", "and", "the", "facts", "behind", "each"]));
        assert!(!echo.bans(&["the", "product", "id"]));
    }

    #[test]
    fn runs_the_sources_hold_are_not_banned() {
        let title = "the Oakhaven Slim 15L Canvas Laptop Backpack with leather trim";
        let feedback = format!("Say that {title} costs 59.");
        let echo = FeedbackRuns::of_texts(&[&feedback], [title], 8);
        assert_eq!(echo.find(title), None);
        assert!(echo.find(&format!("{title} costs 59")).is_some());
    }

    #[test]
    fn zero_words_bans_nothing() {
        let echo = FeedbackRuns::of_texts(&[FEEDBACK], [], 0);
        assert!(echo.is_empty());
        assert_eq!(echo.find(FEEDBACK), None);
    }

    #[test]
    fn the_agents_own_earlier_words_are_not_the_feedbacks() {
        let plan = "I will compare the battery life of the three headphones under fifty dollars.";
        let feedback = "The plan will compare the battery life of the three headphones but ignores comfort and fit entirely.";
        let later = "Comfort and fit: the plan ignores comfort and fit entirely, so I add it.";
        let t = Script::new("t", "headphones").plan(plan, "", Some(feedback)).plan(later, "", None).end(TerminationReason::Approved);
        let echo = FeedbackRuns::of(&t, 5, |v| !v.approved(), []);
        // Quoted from the agent's plan: its own.
        assert_eq!(echo.find("compare the battery life of the three headphones"), None);
        // Taken up only after the feedback: still the feedback's.
        assert_eq!(echo.find(later).as_deref(), Some("ignores comfort and fit entirely"));
        // A verdict that does not count bans nothing.
        assert!(FeedbackRuns::of(&t, 5, |_| false, []).is_empty());
    }
}
