//! Dataset statistics: what a distillation kept, by the numbers trainers plan
//! with (turns, tool calls and tokens: mean, median, p95), per bucket, and why
//! the rest was dropped.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::distillation::Distilled;
use crate::tokens::Bucket;

/// Mean, median and 95th percentile of a measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub median: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (all zero when empty).
    pub fn of(values: &[usize]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let mut v: Vec<usize> = values.to_vec();
        v.sort_unstable();
        // Nearest rank: the smallest value with at least p% of values at or below it.
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1] as f64;
        Self { mean: v.iter().sum::<usize>() as f64 / v.len() as f64, median: rank(0.5), p95: rank(0.95), max: *v.last().unwrap() as f64 }
    }
}

/// Statistics of one distilled dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetStats {
    /// Trajectories read.
    pub trajectories: usize,
    /// Examples exported.
    pub examples: usize,
    /// Tokenizer that counted.
    pub tokenizer: String,
    /// Assistant turns per example.
    pub assistant_turns: Spread,
    /// Tool calls per example.
    pub tool_calls: Spread,
    /// Tokens per example.
    pub tokens: Spread,
    /// Examples per bucket (cumulative: the 64k set contains the 32k one).
    pub buckets: BTreeMap<&'static str, usize>,
    /// Drops per filter.
    pub dropped: BTreeMap<&'static str, usize>,
}

impl DatasetStats {
    /// The statistics of `distilled`.
    pub fn of(distilled: &Distilled, tokenizer: &str) -> Self {
        let ex = &distilled.examples;
        let collect = |f: fn(&crate::SftExample) -> usize| ex.iter().map(f).collect::<Vec<_>>();
        Self {
            trajectories: ex.len() + distilled.drops.len(),
            examples: ex.len(),
            tokenizer: tokenizer.to_string(),
            assistant_turns: Spread::of(&collect(|e| e.assistant_turns)),
            tool_calls: Spread::of(&collect(|e| e.tool_calls)),
            tokens: Spread::of(&collect(|e| e.tokens)),
            buckets: Bucket::ALL.iter().map(|b| (b.name(), ex.iter().filter(|e| e.bucket <= *b).count())).collect(),
            dropped: distilled.drop_counts(),
        }
    }

    /// A few lines for people.
    pub fn table(&self) -> String {
        let row = |name: &str, s: &Spread| {
            format!("  {name:<16} mean {:>9.1}  median {:>8.0}  p95 {:>8.0}  max {:>8.0}\n", s.mean, s.median, s.p95, s.max)
        };
        let mut out = format!("{} of {} trajectories exported (tokens by {})\n", self.examples, self.trajectories, self.tokenizer);
        out.push_str(&row("assistant turns", &self.assistant_turns));
        out.push_str(&row("tool calls", &self.tool_calls));
        out.push_str(&row("tokens", &self.tokens));
        let buckets: Vec<String> =
            Bucket::ALL.iter().map(|b| format!("{}: {}", b.name(), self.buckets.get(b.name()).unwrap_or(&0))).collect();
        out.push_str(&format!("  buckets          {}\n", buckets.join(", ")));
        let dropped: Vec<String> = self.dropped.iter().filter(|(_, n)| **n > 0).map(|(f, n)| format!("{f}: {n}")).collect();
        out.push_str(&format!("  dropped          {}\n", if dropped.is_empty() { "none".to_string() } else { dropped.join(", ") }));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_uses_nearest_rank() {
        let s = Spread::of(&(1..=20).collect::<Vec<_>>());
        assert_eq!((s.mean, s.median, s.p95, s.max), (10.5, 10.0, 19.0, 20.0));
        let s = Spread::of(&[7]);
        assert_eq!((s.mean, s.median, s.p95), (7.0, 7.0, 7.0));
        assert_eq!(Spread::of(&[]), Spread::default());
    }
}
