//! The agent's stated goal for a visit (`goal` argument of `visit_product` and
//! `web_visit`), used to put the passages that matter first before an answer is
//! trimmed to the agent's budget.
//!
//! Plain word overlap, not BM25: passages are ranked within one page, there is no
//! corpus to weigh terms against, and the ranking must be cheap and predictable.

use std::collections::HashSet;

/// Words too common to say anything about relevance.
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "are", "was", "you", "your", "not", "but", "have", "has", "from", "its", "they", "them",
    "their", "what", "which", "who", "how", "all", "any", "can", "does", "did", "had", "our", "out", "into", "about", "than", "then",
    "there", "these", "those", "will", "would", "should", "could", "been", "more", "most", "very", "also", "just", "one", "get", "got",
    "use", "used", "want", "need", "find", "best",
];

/// The distinct content words of a goal.
#[derive(Debug, Clone)]
pub struct Goal {
    words: HashSet<String>,
}

impl Goal {
    /// `None` when the goal has no content words (then the original order stands).
    pub fn parse(goal: Option<&str>) -> Option<Goal> {
        let words: HashSet<String> = words(goal?).filter(|w| !STOPWORDS.contains(&w.as_str())).collect();
        (!words.is_empty()).then_some(Goal { words })
    }

    /// How many of the goal's words the passage contains.
    pub fn overlap(&self, passage: &str) -> usize {
        let seen: HashSet<String> = words(passage).collect();
        self.words.iter().filter(|w| seen.contains(*w)).count()
    }

    /// Reorders `items` so those sharing most goal words come first; ties keep
    /// their original order, so the page's own order decides among equals.
    pub fn rank<T>(&self, items: Vec<T>, text: impl Fn(&T) -> String) -> Vec<T> {
        let mut scored: Vec<(usize, T)> = items.into_iter().map(|item| (self.overlap(&text(&item)), item)).collect();
        scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
        scored.into_iter().map(|(_, item)| item).collect()
    }
}

/// Lowercase alphanumeric words of three or more characters, crudely singular
/// ("headphones" matches "headphone") so plural goals find singular passages.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 3).map(|w| {
        let w = w.to_lowercase();
        match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_shared_words_and_keeps_ties_in_order() {
        let goal = Goal::parse(Some("Is the battery life good for long flights?")).unwrap();
        let passages = vec!["Great sound.", "Battery lasts two long flights.", "Comfortable.", "Battery is fine."];
        let ranked = goal.rank(passages, |p| p.to_string());
        assert_eq!(ranked, vec!["Battery lasts two long flights.", "Battery is fine.", "Great sound.", "Comfortable."]);
    }

    #[test]
    fn empty_or_stopword_goals_do_not_rank() {
        assert!(Goal::parse(None).is_none());
        assert!(Goal::parse(Some("  what is the best  ")).is_none());
    }

    #[test]
    fn plurals_match_singulars() {
        let goal = Goal::parse(Some("headphones")).unwrap();
        assert_eq!(goal.overlap("These headphone pads"), 1);
    }
}
