//! Runs of recorded feedback: the supervisor's words must not reach the
//! training data. A run of `n` words of any verdict feedback recorded in a
//! trajectory is an echo, unless the run also appears in the example's own
//! sources (the query, a tool result): a product title the feedback quoted is
//! the tools' text, not the supervisor's; nor is a run the feedback quoted
//! from the agent's own earlier plan or report ([`Echo::of`]).
//!
//! One definition serves both sides: the `feedback_echo` filter looks for
//! such a run, and the internalization condenses its reasoning until there is
//! none.

use std::collections::HashSet;

use productresearch_record::{EventBody, Trajectory};

/// The default shortest run of feedback words that counts as an echo.
pub const ECHO_WORDS: usize = 8;

/// Lowercase words (runs of letters and digits): what a run is counted in.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

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

/// The runs of feedback words an example may not repeat.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    n: usize,
    banned: HashSet<String>,
}

impl Echo {
    /// The runs of `n` words of `feedback` that none of `sources` contains
    /// (`n` = 0: none).
    pub fn new<'a>(feedback: &[&str], sources: impl IntoIterator<Item = &'a str>, n: usize) -> Self {
        if n == 0 {
            return Self::default();
        }
        let sources: HashSet<String> = sources.into_iter().flat_map(|s| grams(&words(s), n).collect::<Vec<_>>()).collect();
        let banned = feedback.iter().flat_map(|f| grams(&words(f), n).collect::<Vec<_>>()).filter(|g| !sources.contains(g)).collect();
        Self { n, banned }
    }

    /// The runs of `n` words of `trajectory`'s recorded feedback that none
    /// of `sources` contains and that the feedback did not quote from the
    /// agent's own plan or report written before it: a supervisor model
    /// restates the step it judges ("does not return a full record of the
    /// work bag's information", of a plan that said "returns a full record of
    /// the work bag's information"), and the agent keeping its own words is
    /// no echo. A run the agent took up only after the feedback stays banned.
    pub fn of<'a>(trajectory: &Trajectory, sources: impl IntoIterator<Item = &'a str>, n: usize) -> Self {
        if n == 0 {
            return Self::default();
        }
        let mut allowed: HashSet<String> = sources.into_iter().flat_map(|s| grams(&words(s), n).collect::<Vec<_>>()).collect();
        let mut banned = HashSet::new();
        for event in &trajectory.events {
            match &event.body {
                EventBody::Step(step) => allowed.extend(grams(&words(&step.text), n).filter(|g| !banned.contains(g)).collect::<Vec<_>>()),
                EventBody::Verdict(v) => banned.extend(grams(&words(&v.feedback), n).filter(|g| !allowed.contains(g)).collect::<Vec<_>>()),
                _ => {}
            }
        }
        Self { n, banned }
    }

    /// How many words make a run (0: nothing is banned).
    pub fn run_words(&self) -> usize {
        self.n
    }

    /// True when no run is banned.
    pub fn is_empty(&self) -> bool {
        self.banned.is_empty()
    }

    /// True when the `n` lowercase `words` are a banned run.
    pub fn bans<S: AsRef<str>>(&self, words: &[S]) -> bool {
        words.len() == self.n && !self.banned.is_empty() && self.banned.contains(&join(words))
    }

    /// The first banned run in `text`, if any.
    pub fn find(&self, text: &str) -> Option<String> {
        if self.banned.is_empty() {
            return None;
        }
        grams(&words(text), self.n).find(|g| self.banned.contains(g))
    }
}

/// The first run of `n` words `text` shares with `source`, if any.
pub fn shared_run(text: &str, source: &str, n: usize) -> Option<String> {
    Echo::new(&[source], [], n).find(text)
}

/// The runs of `n` (> 0) words of `words`.
fn grams(words: &[String], n: usize) -> impl Iterator<Item = String> + '_ {
    words.windows(n).map(join)
}

fn join<S: AsRef<str>>(words: &[S]) -> String {
    words.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEEDBACK: &str = "Several recommendations lack evidence; cite the product id and the facts behind each recommendation.";

    #[test]
    fn a_run_is_n_words_in_a_row_across_punctuation_and_case() {
        let echo = Echo::new(&[FEEDBACK], [], 8);
        assert_eq!(
            echo.find("So: I will CITE the product-id, and the facts behind it.").as_deref(),
            Some("cite the product id and the facts behind")
        );
        // Seven are not a run.
        assert_eq!(echo.find("I will cite the product id and facts behind it."), None);
        assert!(echo.bans(&["the", "product", "id", "and", "the", "facts", "behind", "each"]));
        assert!(!echo.bans(&["the", "product", "id"]));
    }

    #[test]
    fn runs_the_sources_contain_are_not_banned() {
        let title = "the Oakhaven Slim 15L Canvas Laptop Backpack with leather trim";
        let feedback = format!("Say that {title} costs 59.");
        let echo = Echo::new(&[&feedback], [title], 8);
        assert_eq!(echo.find(title), None);
        assert!(echo.find(&format!("{title} costs 59")).is_some());
    }

    #[test]
    fn zero_words_bans_nothing() {
        let echo = Echo::new(&[FEEDBACK], [], 0);
        assert!(echo.is_empty());
        assert_eq!(echo.find(FEEDBACK), None);
        assert_eq!(shared_run(FEEDBACK, FEEDBACK, 3).as_deref(), Some("several recommendations lack"));
    }
}
