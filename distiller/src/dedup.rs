//! Near-duplicate queries across a dataset: two trajectories whose queries ask
//! the same thing in nearly the same words teach the same thing twice and skew
//! the data towards that query.
//!
//! Queries are normalised (lowercase, letters and digits only, split on the
//! rest) into token sets and compared by Jaccard similarity. An inverted index
//! from token to kept query limits the comparisons to queries sharing a token,
//! so a dataset of thousands stays linear in practice.

use std::collections::{BTreeSet, HashMap};

/// The normalised token set of `query`.
pub fn tokens(query: &str) -> BTreeSet<String> {
    query.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase).collect()
}

/// Jaccard similarity of two token sets (1.0 for two empty sets).
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(b).count();
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// Queries kept so far, indexed by token.
#[derive(Debug, Default)]
pub struct Seen {
    kept: Vec<(String, BTreeSet<String>)>,
    by_token: HashMap<String, Vec<usize>>,
}

impl Seen {
    /// The kept query `query` nearly duplicates (similarity ≥ `threshold`), with
    /// its id and the similarity; otherwise records `query` as kept under `id`.
    pub fn admit(&mut self, id: &str, query: &str, threshold: f64) -> Result<(), (String, f64)> {
        let set = tokens(query);
        let mut best: Option<(usize, f64)> = None;
        let mut checked = BTreeSet::new();
        for t in &set {
            for &k in self.by_token.get(t).into_iter().flatten() {
                if checked.insert(k) {
                    let s = jaccard(&set, &self.kept[k].1);
                    if s >= threshold && best.is_none_or(|(_, b)| s > b) {
                        best = Some((k, s));
                    }
                }
            }
        }
        if let Some((k, s)) = best {
            return Err((self.kept[k].0.clone(), s));
        }
        let index = self.kept.len();
        for t in &set {
            self.by_token.entry(t.clone()).or_default().push(index);
        }
        self.kept.push((id.to_string(), set));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_are_caught_and_distinct_queries_pass() {
        let mut seen = Seen::default();
        seen.admit("a", "Which blender under $100 crushes ice best?", 0.8).unwrap();
        seen.admit("b", "Quiet headphones for a long flight", 0.8).unwrap();
        // Same words, other case and punctuation: similarity 1.
        assert_eq!(seen.admit("c", "which BLENDER under 100 crushes ice best", 0.8), Err(("a".into(), 1.0)));
        // 7 of 8 tokens shared: 0.875.
        let (id, s) = seen.admit("d", "Which blender under $100 crushes ice best today?", 0.8).unwrap_err();
        assert_eq!(id, "a");
        assert!((s - 0.875).abs() < 1e-12);
        // Related but different: kept.
        seen.admit("e", "Which blender under $200 makes the smoothest smoothies?", 0.8).unwrap();
    }
}
