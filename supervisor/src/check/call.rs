//! Check Toolcall's deterministic checks: a call to a tool that does not
//! exist, arguments that break the schema, a visit of a target no result
//! listed, exact and near repeats of an approved call, degenerate arguments —
//! decided before a bad call costs anything.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use productresearch_llm::Validators;
use productresearch_record::{EventBody, ToolCall, ToolSpec, Trajectory};

use super::target::Targets;
use super::{Feedback, degenerate, truncate};
use crate::caps::Caps;

/// The tools' argument schemas and the calls already approved in one trajectory.
pub struct CallChecker {
    validators: HashMap<String, Arc<jsonschema::Validator>>,
    /// The trajectory's guards.
    caps: Caps,
    /// Approved calls by [`ToolCall::identity`], for exact repeats.
    seen: HashSet<(String, String)>,
    /// Approved calls by their loose form, for near repeats.
    loose: Vec<Loose>,
    /// What the research has met, which a visit's target must be part of.
    targets: Targets,
}

/// A call with its free-text arguments reduced to their content words: the
/// same query with other word order, case, punctuation or stopwords has the
/// same `words`.
#[derive(Debug, Clone, PartialEq)]
struct Loose {
    name: String,
    /// The arguments that are not free text, canonical.
    exact: String,
    words: BTreeSet<String>,
}

impl CallChecker {
    /// A checker for the tools in `specs`. A tool whose schema does not compile
    /// is still callable; its arguments are then only checked to be an object.
    /// Schemas compile once per `schemas` cache, not once per trajectory.
    /// `caps` holds the guards (near repeats, degenerate arguments).
    pub fn new(specs: &[ToolSpec], schemas: &Validators, caps: &Caps) -> Self {
        let validators = specs
            .iter()
            .map(|s| {
                let v = schemas.get(&s.parameters).unwrap_or_else(|e| {
                    tracing::warn!(tool = %s.name, error = %e, "tool schema does not compile; its arguments are checked for shape only");
                    schemas.get(&serde_json::json!({"type": "object"})).expect("trivial schema compiles")
                });
                (s.name.clone(), v)
            })
            .collect();
        Self { validators, caps: *caps, seen: HashSet::new(), loose: Vec::new(), targets: Targets::default() }
    }

    /// Feedback when the call must be revised, `None` when it passes.
    /// `results`: the usable tool results so far (see [`usable_results`]),
    /// where a visit's target must come from.
    pub fn check(&self, call: &ToolCall, results: &[&str]) -> Option<Feedback> {
        let Some(validator) = self.validators.get(&call.name) else {
            let mut names: Vec<&str> = self.validators.keys().map(String::as_str).collect();
            names.sort();
            return Some(Feedback::unknown_tool(&call.name, &names));
        };
        let args: serde_json::Value = match serde_json::from_str(&call.arguments) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => return Some(Feedback::arguments_not_object(&call.name, truncate(&call.arguments, 200))),
        };
        let errors: Vec<String> = validator.iter_errors(&args).take(3).map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            return Some(Feedback::arguments_schema(&call.name, &errors));
        }
        if let Some(feedback) = self.targets.check(&call.name, &args, results) {
            return Some(feedback);
        }
        if self.seen.contains(&call.identity()) {
            return Some(Feedback::exact_repeat(&call.name));
        }
        let loose = loose(&call.name, &args);
        if let Some(earlier) = self.loose.iter().find(|l| l.near(&loose, self.caps.near_repeat_percent)) {
            return Some(Feedback::near_repeat(&call.name, &earlier.words.iter().map(String::as_str).collect::<Vec<_>>()));
        }
        strings(&args).into_iter().find_map(|text| degenerate(text, &self.caps)).map(|inner| Feedback::in_arguments(&call.name, inner))
    }

    /// Remembers what the shopper said (the query, a follow-up), where the
    /// targets of visits may come from.
    pub fn remember_said(&mut self, text: &str) {
        self.targets.remember_said(text);
    }

    /// Remembers the targets a usable tool result lists.
    pub fn remember_result(&mut self, text: &str) {
        self.targets.remember_result(text);
    }

    /// Remembers an approved call, so an exact or near repeat is caught.
    pub fn record(&mut self, call: &ToolCall) {
        if let Ok(args) = serde_json::from_str::<serde_json::Value>(&call.arguments) {
            self.seen.insert(call.identity());
            self.loose.push(loose(&call.name, &args));
        }
    }
}

impl Loose {
    /// Whether `other` shares at least `percent` of the content words (Jaccard)
    /// with this call: it asks the same thing (0: never).
    fn near(&self, other: &Loose, percent: u32) -> bool {
        if percent == 0 || self.name != other.name || self.exact != other.exact || self.words.is_empty() || other.words.is_empty() {
            return false;
        }
        let shared = self.words.intersection(&other.words).count();
        let union = self.words.union(&other.words).count();
        shared * 100 >= percent as usize * union
    }
}

/// Words that change no search: articles, prepositions, filler.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "at", "best", "by", "for", "from", "good", "i", "in", "is", "it", "me", "my", "of", "on", "or", "the", "to",
    "top", "what", "which", "with",
];

/// Free text (a string with a space) becomes content words; anything else
/// (ids, URLs, numbers) must match exactly.
fn loose(name: &str, args: &serde_json::Value) -> Loose {
    let mut exact = serde_json::Map::new();
    let mut words = BTreeSet::new();
    if let serde_json::Value::Object(map) = args {
        for (k, v) in map {
            match v.as_str() {
                Some(text) if text.trim().contains(char::is_whitespace) => words.extend(content_words(text)),
                _ => {
                    exact.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Loose { name: name.to_string(), exact: serde_json::Value::Object(exact).to_string(), words }
}

fn content_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            // A plural and its singular search the same.
            match w.strip_suffix('s') {
                Some(stem) if stem.len() > 2 && !stem.ends_with('s') => stem.to_string(),
                _ => w,
            }
        })
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
}

fn strings(v: &serde_json::Value) -> Vec<&str> {
    match v {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(a) => a.iter().flat_map(strings).collect(),
        serde_json::Value::Object(m) => m.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The texts of a trajectory's tool results, errors aside: what a visit's
/// target must come from (a trajectory ends at its first error result).
pub fn usable_results(trajectory: &Trajectory) -> Vec<&str> {
    trajectory
        .events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Step(step) => step.tool_result.as_ref().filter(|r| !r.is_error).map(|r| r.content.as_str()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checker_specs() -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "product_search".into(),
            description: "d".into(),
            parameters: json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1}, "limit": {"type": "integer", "maximum": 20}}, "required": ["query"]}).into(),
        }]
    }

    fn checker() -> CallChecker {
        CallChecker::new(&checker_specs(), &Validators::default(), &Caps::default())
    }

    fn call(name: &str, args: &str) -> ToolCall {
        ToolCall { id: "c".into(), name: name.into(), arguments: args.into() }
    }

    #[test]
    fn unknown_tool_names_the_known_ones() {
        let f = checker().check(&call("web_serch", "{}"), &[]).unwrap().text();
        assert!(f.contains("web_serch") && f.contains("product_search"), "{f}");
    }

    #[test]
    fn schema_violations_are_explained() {
        let c = checker();
        assert!(c.check(&call("product_search", "{\"limit\": 3}"), &[]).unwrap().text().contains("query"));
        assert!(c.check(&call("product_search", "{\"query\": \"x\", \"limit\": 99}"), &[]).unwrap().text().contains("schema"));
        assert!(c.check(&call("product_search", "[1]"), &[]).unwrap().text().contains("one JSON object"));
        assert!(c.check(&call("product_search", "{\"query\": \"x\"}"), &[]).is_none());
    }

    #[test]
    fn exact_repeats_are_caught_regardless_of_key_order() {
        let mut c = checker();
        c.record(&call("product_search", "{\"query\": \"x\", \"limit\": 3}"));
        assert!(c.check(&call("product_search", "{ \"limit\": 3, \"query\": \"x\" }"), &[]).unwrap().text().contains("already called"));
        assert!(c.check(&call("product_search", "{\"query\": \"y\", \"limit\": 3}"), &[]).is_none());
    }

    #[test]
    fn near_repeats_are_caught_modulo_order_case_and_stopwords() {
        let mut c = checker();
        c.record(&call("product_search", r#"{"query": "noise cancelling headphones under 300", "limit": 5}"#));
        let again = c.check(&call("product_search", r#"{"query": "The best Headphones, noise-cancelling, under 300", "limit": 5}"#), &[]);
        assert!(again.unwrap().text().contains("nearly the same"));
        // Other limit, or a different product: a new call.
        assert!(c.check(&call("product_search", r#"{"query": "noise cancelling headphones under 300", "limit": 10}"#), &[]).is_none());
        assert!(c.check(&call("product_search", r#"{"query": "noise cancelling earbuds under 300"}"#), &[]).is_none());
        // Ids are compared exactly, never by words.
        c.record(&call("product_search", r#"{"query": "B0ABC"}"#));
        assert!(c.check(&call("product_search", r#"{"query": "B0ABD"}"#), &[]).is_none());
    }

    #[test]
    fn degenerate_output_is_rejected_before_it_costs_a_call() {
        let looped = "compare the battery life ".repeat(12);
        assert!(degenerate(&looped, &Caps::default()).unwrap().text().contains("repeats itself"));
        let c = checker();
        let args = serde_json::json!({"query": looped}).to_string();
        assert!(c.check(&call("product_search", &args), &[]).unwrap().text().contains("repeats itself"));
        let report = "The Sony WH-1000XM5 leads on noise cancelling and comfort; the Bose QC45 is lighter and cheaper at $249, \
            while the Sennheiser Momentum 4 lasts longest on a charge (60 hours) but costs more. For a commuter under $300 the Bose \
            is the better value; for long flights the Sennheiser.";
        assert!(degenerate(report, &Caps::default()).is_none());
        assert!(degenerate("yes yes yes yes", &Caps::default()).is_none(), "short texts are not judged");
        // One digit over and over repeats no word (a plan of a 0.5B model).
        let stuck = format!("Visit the product's full record by product_id 1{}", "0".repeat(72));
        assert!(degenerate(&stuck, &Caps::default()).unwrap().text().contains("\"0\" 72 times in a row"));
        assert!(degenerate(&stuck, &Caps { degenerate_char_run: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(degenerate(&stuck, &Caps { degenerate_char_run: 73, ..Caps::default() }).is_none());
        // Ids, round numbers and Markdown rules are not runs.
        assert!(degenerate("ASIN B000000001: 100000000 sold.\n\n-----------------------", &Caps::default()).is_none());
        let args = serde_json::json!({"query": format!("kettle 1{}", "0".repeat(20))}).to_string();
        assert!(c.check(&call("product_search", &args), &[]).unwrap().text().contains("times in a row"));
    }

    #[test]
    fn call_guards_follow_their_settings() {
        let with = |caps: Caps| {
            let mut c = CallChecker::new(&checker_specs(), &Validators::default(), &caps);
            c.record(&call("product_search", r#"{"query": "noise cancelling headphones under 300"}"#));
            c
        };
        // 3 of 7 content words shared: 43 %, under the default 80.
        let looser = call("product_search", r#"{"query": "noise cancelling headphones with long battery"}"#);
        assert!(with(Caps::default()).check(&looser, &[]).is_none());
        assert!(with(Caps { near_repeat_percent: 44, ..Caps::default() }).check(&looser, &[]).is_none());
        assert!(with(Caps { near_repeat_percent: 40, ..Caps::default() }).check(&looser, &[]).unwrap().text().contains("nearly the same"));
        let near = call("product_search", r#"{"query": "The best Headphones, noise-cancelling, under 300"}"#);
        assert!(with(Caps::default()).check(&near, &[]).is_some());
        assert!(with(Caps { near_repeat_percent: 0, ..Caps::default() }).check(&near, &[]).is_none(), "0 switches it off");

        let looped = "compare the battery life ".repeat(12);
        assert!(degenerate(&looped, &Caps { degenerate_repeat_percent: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(degenerate(&looped, &Caps { degenerate_repeat_percent: 95, ..Caps::default() }).is_none(), "91 % repeated");
        assert!(degenerate(&looped, &Caps { degenerate_min_words: 49, ..Caps::default() }).is_none(), "48 words are too few");
        let short = "yes yes yes yes yes yes";
        assert!(degenerate(short, &Caps { degenerate_min_words: 0, ..Caps::default() }).unwrap().text().contains("repeats itself"));
    }
}
