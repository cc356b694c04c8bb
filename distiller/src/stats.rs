//! Dataset statistics: what a distillation kept, by the numbers trainers plan
//! with (turns, tool calls and tokens: mean, median, p95), per bucket, and why
//! the rest was dropped.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::distillation::Distilled;
use crate::diversity::Diversity;
use crate::filter::Filter;
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
    /// Share of the trajectories exported.
    pub yield_rate: f64,
    /// Every filter in order: trajectories it saw and dropped.
    pub filters: Vec<FilterCount>,
    /// Share of the trajectories reaching the grounding filters (`grounding`
    /// and `stated_facts`) that passed both.
    pub grounding_rate: f64,
    /// How varied the examples are, with warnings when one shape dominates.
    pub diversity: Diversity,
}

/// What one filter did to a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterCount {
    /// The filter.
    pub filter: &'static str,
    /// Trajectories it judged (the others were dropped before it).
    pub reached: usize,
    /// Trajectories it dropped.
    pub dropped: usize,
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
            yield_rate: ratio(ex.len(), ex.len() + distilled.drops.len()),
            filters: filter_counts(distilled),
            grounding_rate: {
                let reached =
                    distilled.drops.iter().filter(|d| d.filter == Filter::Grounding || passed(d, Filter::Grounding)).count() + ex.len();
                let failed = distilled.drops.iter().filter(|d| matches!(d.filter, Filter::Grounding | Filter::StatedFacts)).count();
                ratio(reached - failed, reached)
            },
            diversity: Diversity::of(
                &ex.iter().map(|e| (e.shape.clone(), e.assistant_turns)).collect::<Vec<_>>(),
                distilled.drop_counts()[Filter::NearDuplicate.name()],
            ),
        }
    }

    /// The page a data engineer reads before training: yield, every filter's
    /// count, grounding and diversity (the table, with the filters spelled out).
    pub fn quality_page(&self) -> String {
        let mut out = format!(
            "Quality: {} of {} trajectories exported ({:.1}% yield); grounding {:.1}% of those checked\n",
            self.examples,
            self.trajectories,
            self.yield_rate * 100.0,
            self.grounding_rate * 100.0
        );
        out.push_str("  filter               reached  dropped\n");
        for f in &self.filters {
            out.push_str(&format!("  {:<20} {:>7}  {:>7}\n", f.filter, f.reached, f.dropped));
        }
        out.push_str(&self.table());
        out
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
        let d = &self.diversity;
        let top = |v: &[(String, usize)]| v.first().map(|(s, c)| format!(" (most common, {c}: {s})")).unwrap_or_default();
        out.push_str(&format!("  tool sequences   {} distinct{}\n", d.distinct_tool_sequences, top(&d.tool_sequences)));
        out.push_str(&format!("  report layouts   {} distinct{}\n", d.distinct_report_layouts, top(&d.report_layouts)));
        let turns: Vec<String> = d.assistant_turns.iter().map(|(t, c)| format!("{t}: {c}")).collect();
        out.push_str(&format!("  turns (count)    {}\n", turns.join(", ")));
        out.push_str(&format!(
            "  queries          {} distinct; {} categories; near-duplicate rate {:.1}%\n",
            d.distinct_queries,
            d.categories.len(),
            d.near_duplicate_rate * 100.0
        ));
        for w in &d.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        out
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn passed(d: &crate::distillation::Dropped, filter: Filter) -> bool {
    d.passed.iter().any(|p| p.filter == filter)
}

/// Every filter in order with the trajectories it judged and dropped: a
/// trajectory reached a filter if it passed it or was dropped by it.
fn filter_counts(distilled: &Distilled) -> Vec<FilterCount> {
    Filter::ORDER
        .iter()
        .map(|&f| {
            let dropped = distilled.drops.iter().filter(|d| d.filter == f).count();
            let passed_it = distilled.drops.iter().filter(|d| passed(d, f)).count() + distilled.examples.len();
            FilterCount { filter: f.name(), reached: passed_it + dropped, dropped }
        })
        .collect()
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
