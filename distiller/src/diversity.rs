//! How varied a dataset is. A batch whose examples all call the same tools in
//! the same order, or whose reports share one layout, teaches a template rather
//! than research; these figures show it before training, with a warning when
//! one shape dominates.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::internalize::Message;

/// Share of examples above which one shape counts as dominant.
pub const DOMINANT_SHARE: f64 = 0.5;
/// Fewest examples before dominance is judged (three examples of one shape say
/// nothing).
pub const DOMINANCE_MIN_EXAMPLES: usize = 10;

/// The shape of one example.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Tool names in call order, joined by `>`.
    pub tool_sequence: String,
    /// The final report's headings in order, joined by `>` (its layout).
    pub report_layout: String,
    /// The normalised query.
    pub query: String,
    /// The most common product category in the tool results, if any says.
    pub category: Option<String>,
}

impl Shape {
    /// The shape of a conversation.
    pub fn of(messages: &[Message]) -> Self {
        let mut calls = Vec::new();
        let mut categories: HashMap<String, usize> = HashMap::new();
        let mut query = String::new();
        let mut report = "";
        for m in messages {
            match m {
                Message::User { content } if query.is_empty() => {
                    query = crate::dedup::tokens(content).into_iter().collect::<Vec<_>>().join(" ")
                }
                Message::Assistant { content, tool_calls, .. } => {
                    calls.extend(tool_calls.iter().map(|c| c.function.name.as_str()));
                    if tool_calls.is_empty() {
                        report = content;
                    }
                }
                Message::Tool { content, .. } => {
                    if let Ok(v) = serde_json::from_str::<Value>(content) {
                        count_categories(&v, &mut categories);
                    }
                }
                _ => {}
            }
        }
        let headings: Vec<&str> =
            report.lines().filter_map(|l| l.trim_start().strip_prefix("##")).map(|h| h.trim_start_matches('#').trim()).collect();
        let category = categories.into_iter().max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0))).map(|(c, _)| c);
        Self { tool_sequence: calls.join(">"), report_layout: headings.join(">"), query, category }
    }
}

fn count_categories(v: &Value, out: &mut HashMap<String, usize>) {
    match v {
        Value::Object(o) => {
            if o.contains_key("product_id")
                && let Some(c) = o.get("category").and_then(Value::as_str).filter(|c| !c.trim().is_empty())
            {
                *out.entry(c.trim().to_string()).or_default() += 1;
            }
            o.values().for_each(|v| count_categories(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| count_categories(v, out)),
        _ => {}
    }
}

/// How varied a set of examples is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diversity {
    /// Distinct tool sequences.
    pub distinct_tool_sequences: usize,
    /// The most common tool sequences with their example counts (at most 10).
    pub tool_sequences: Vec<(String, usize)>,
    /// Examples per number of assistant turns.
    pub assistant_turns: BTreeMap<usize, usize>,
    /// Distinct report layouts (heading sequences).
    pub distinct_report_layouts: usize,
    /// The most common report layouts with their counts (at most 5).
    pub report_layouts: Vec<(String, usize)>,
    /// Distinct normalised queries.
    pub distinct_queries: usize,
    /// Examples per product category (`unknown` when no tool said).
    pub categories: BTreeMap<String, usize>,
    /// Share of the trajectories reaching the near-duplicate filter that it
    /// dropped.
    pub near_duplicate_rate: f64,
    /// What dominates, for people.
    pub warnings: Vec<String>,
}

impl Diversity {
    /// The diversity of `shapes` (one per example, with its assistant turns);
    /// `near_duplicates` examples were dropped as near duplicates.
    pub fn of(shapes: &[(Shape, usize)], near_duplicates: usize) -> Self {
        let n = shapes.len();
        let sequences = ranked(shapes.iter().map(|(s, _)| s.tool_sequence.clone()));
        let layouts = ranked(shapes.iter().map(|(s, _)| s.report_layout.clone()));
        let mut turns: BTreeMap<usize, usize> = BTreeMap::new();
        let mut categories: BTreeMap<String, usize> = BTreeMap::new();
        for (s, t) in shapes {
            *turns.entry(*t).or_default() += 1;
            *categories.entry(s.category.clone().unwrap_or_else(|| "unknown".into())).or_default() += 1;
        }
        let distinct_queries = shapes.iter().map(|(s, _)| s.query.as_str()).collect::<std::collections::HashSet<_>>().len();
        let mut warnings = Vec::new();
        if n >= DOMINANCE_MIN_EXAMPLES {
            let mut dominant = |what: &str, top: Option<&(String, usize)>| {
                if let Some((name, count)) = top.filter(|(_, c)| *c as f64 / n as f64 > DOMINANT_SHARE) {
                    let name = if name.is_empty() { "(none)" } else { name.as_str() };
                    warnings.push(format!("{count} of {n} examples share one {what}: {name}"));
                }
            };
            dominant("tool sequence", sequences.first());
            dominant("report layout", layouts.first());
            let top_turns = turns.iter().max_by_key(|(_, c)| **c).map(|(t, c)| (format!("{t} assistant turns"), *c));
            dominant("turn count", top_turns.as_ref());
            if (distinct_queries as f64) < n as f64 * (1.0 - DOMINANT_SHARE) {
                warnings.push(format!("only {distinct_queries} distinct queries in {n} examples"));
            }
        }
        let reached = n + near_duplicates;
        Self {
            distinct_tool_sequences: sequences.len(),
            tool_sequences: sequences.into_iter().take(10).collect(),
            assistant_turns: turns,
            distinct_report_layouts: layouts.len(),
            report_layouts: layouts.into_iter().take(5).collect(),
            distinct_queries,
            categories,
            near_duplicate_rate: if reached == 0 { 0.0 } else { near_duplicates as f64 / reached as f64 },
            warnings,
        }
    }
}

/// Values with their counts, most common first (ties by value).
fn ranked(values: impl Iterator<Item = String>) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(seq: &str, layout: &str, query: &str) -> (Shape, usize) {
        (Shape { tool_sequence: seq.into(), report_layout: layout.into(), query: query.into(), category: None }, 6)
    }

    #[test]
    fn one_dominant_shape_is_warned_about() {
        let same: Vec<_> = (0..10).map(|i| shape("a>b", "Summary>Sources", &format!("q{i}"))).collect();
        let d = Diversity::of(&same, 0);
        assert_eq!((d.distinct_tool_sequences, d.distinct_queries), (1, 10));
        assert_eq!(d.warnings.len(), 3, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("10 of 10 examples share one tool sequence: a>b"), "{:?}", d.warnings);
        assert_eq!(d.assistant_turns[&6], 10);
        assert_eq!(d.categories["unknown"], 10);
    }

    #[test]
    fn a_varied_set_has_no_warning() {
        let varied: Vec<_> = (0..12)
            .map(|i| {
                let mut s = shape(&format!("seq{}", i % 3), &format!("layout{}", i % 4), &format!("q{i}"));
                s.1 = 4 + i % 3;
                s
            })
            .collect();
        let d = Diversity::of(&varied, 4);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(d.near_duplicate_rate, 0.25);
        assert_eq!(d.tool_sequences[0], ("seq0".to_string(), 4));
    }

    #[test]
    fn shape_reads_calls_layout_and_category() {
        use crate::internalize::{Function, FunctionCall};
        let call = |name: &str| FunctionCall {
            id: "c".into(),
            kind: "function",
            function: Function { name: name.into(), arguments: "{}".into() },
        };
        let messages = vec![
            Message::User { content: "Which Kettle?".into() },
            Message::Assistant { content: String::new(), reasoning_content: None, tool_calls: vec![call("product_search")] },
            Message::Tool {
                tool_call_id: "c".into(),
                content: r#"{"results":[{"product_id":"a","category":"Kitchen"},{"product_id":"b","category":"Kitchen"}]}"#.into(),
            },
            Message::Assistant { content: "# R\n## Summary\ntext\n## Sources\n- x".into(), reasoning_content: None, tool_calls: vec![] },
        ];
        let s = Shape::of(&messages);
        assert_eq!(s.tool_sequence, "product_search");
        assert_eq!(s.report_layout, "Summary>Sources");
        assert_eq!(s.category.as_deref(), Some("Kitchen"));
        assert_eq!(s.query, "kettle which");
    }
}
