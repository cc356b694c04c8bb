//! Deterministic checks of Check Toolcall: they decide without a model call,
//! before a bad call costs anything.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use productresearch_llm::Validators;
use productresearch_record::{ToolCall, ToolResult, ToolSpec};

use crate::caps::Caps;

/// The tools' argument schemas and the calls already approved in one trajectory.
pub struct CallChecker {
    validators: HashMap<String, Arc<jsonschema::Validator>>,
    /// The trajectory's guards.
    caps: Caps,
    seen: HashSet<(String, String)>,
    /// Approved calls by their loose form, for near repeats.
    loose: Vec<Loose>,
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
        Self { validators, caps: *caps, seen: HashSet::new(), loose: Vec::new() }
    }

    /// Feedback when the call must be revised, `None` when it passes.
    pub fn check(&self, call: &ToolCall) -> Option<String> {
        let Some(validator) = self.validators.get(&call.name) else {
            let mut names: Vec<&str> = self.validators.keys().map(String::as_str).collect();
            names.sort();
            return Some(format!("There is no tool named \"{}\"; use one of: {}.", call.name, names.join(", ")));
        };
        let args: serde_json::Value = match serde_json::from_str(&call.arguments) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => return Some(format!("The arguments of {} must be one JSON object; got {:?}.", call.name, truncate(&call.arguments, 200))),
        };
        let errors: Vec<String> = validator.iter_errors(&args).take(3).map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            return Some(format!("The arguments of {} do not match its schema: {}.", call.name, errors.join("; ")));
        }
        if self.seen.contains(&key(&call.name, &args)) {
            return Some(format!(
                "You already called {} with exactly these arguments; use that result, or change the arguments to learn something new.",
                call.name
            ));
        }
        let loose = loose(&call.name, &args);
        if let Some(earlier) = self.loose.iter().find(|l| l.near(&loose, self.caps.near_repeat_percent)) {
            return Some(format!(
                "This {} call asks nearly the same as an earlier one (same content words: {}); use that result, or search for something different.",
                call.name,
                earlier.words.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
            ));
        }
        for text in strings(&args) {
            if let Some(feedback) = degenerate(text, &self.caps) {
                return Some(format!("The arguments of {}: {feedback}", call.name));
            }
        }
        None
    }

    /// Remembers an approved call, so an exact or near repeat is caught.
    pub fn record(&mut self, call: &ToolCall) {
        if let Ok(args) = serde_json::from_str::<serde_json::Value>(&call.arguments) {
            self.seen.insert(key(&call.name, &args));
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

/// Feedback when `text` is degenerate model output — the same phrase over and
/// over (a decoder stuck in a loop) — `None` otherwise. Measured as the share
/// of word 4-grams that occurred before in the text: above
/// `caps.degenerate_repeat_percent` (0: off) in a text of at least
/// `caps.degenerate_min_words` (short texts repeat by chance).
pub fn degenerate(text: &str, caps: &Caps) -> Option<String> {
    let percent = caps.degenerate_repeat_percent as usize;
    if percent == 0 {
        return None;
    }
    let words: Vec<String> = text.split_whitespace().map(|w| w.to_lowercase()).collect();
    if words.len() < caps.degenerate_min_words as usize || words.len() < 4 {
        return None;
    }
    let grams: Vec<&[String]> = words.windows(4).collect();
    let mut seen = HashSet::new();
    let repeated = grams.iter().filter(|g| !seen.insert(**g)).count();
    let share = repeated as f64 / grams.len() as f64;
    (repeated * 100 > percent * grams.len()).then(|| {
        format!(
            "The text repeats itself ({:.0}% of its phrases occur more than once); write it again without the repetition.",
            share * 100.0
        )
    })
}

/// Deterministic checks of plans and reports, run before the model's verdict:
/// what the distiller would drop, or what is not an answer at all, is sent
/// back with concrete feedback instead of being left to a small model's
/// judgement.
///
/// The guards' thresholds come with each check (`Caps`: a request may set
/// them). Why the defaults: six words in the same order (`echo_words`) do not
/// appear in a report by chance ("start by writing a research plan as ...").
/// A plan is an echo only when a quarter of its word runs
/// (`plan_echo_percent`) are instruction runs: a real plan names what a tool
/// does in the tool list's own words ("open one product's full record by
/// product_id"), and a 1.5B model's plans were all sent back on one run. A
/// report has no reason to quote its instructions, so one run is enough there.
#[derive(Debug)]
pub struct TextChecker {
    /// Approved tool calls with results a report needs (the distiller's
    /// `min_tool_calls`; 0: off).
    min_tool_calls: u32,
    /// The words of each literal text of the research agent's prompt templates.
    instructions: Vec<Vec<String>>,
    /// Word n-grams of `instructions` by n, built on first use of each n.
    runs: Mutex<HashMap<usize, Arc<HashSet<Vec<String>>>>>,
}

impl TextChecker {
    /// Checks against the research agent's templates in `prompts`; a report
    /// needs `min_tool_calls` approved tool calls with results.
    pub fn new(prompts: &productresearch_prompts::PromptSet, min_tool_calls: u32) -> Self {
        let mut instructions = Vec::new();
        for (reference, _) in prompts.list() {
            if !reference.name.starts_with("research_agent/") {
                continue;
            }
            let Some(source) = prompts.source(&reference.name) else { continue };
            // Only literal text: n-grams never span a `{{ placeholder }}` or a `{% tag %}`.
            instructions.extend(literal_segments(source).into_iter().map(words));
        }
        Self { min_tool_calls, instructions, runs: Mutex::default() }
    }

    /// The instructions' word runs of `n` words.
    fn instruction_runs(&self, n: usize) -> Arc<HashSet<Vec<String>>> {
        let mut runs = self.runs.lock().expect("instruction runs lock");
        runs.entry(n)
            .or_insert_with(|| Arc::new(self.instructions.iter().flat_map(|w| w.windows(n).map(<[String]>::to_vec)).collect()))
            .clone()
    }

    /// Feedback when a plan must be revised, `None` when it may go to the model.
    pub fn plan(&self, text: &str, caps: &Caps) -> Option<String> {
        let echo = (caps.plan_echo_percent > 0).then(|| self.echo(text, "plan", caps.echo_words, caps.plan_echo_percent)).flatten();
        echo.or_else(|| cut_off(text)).or_else(|| degenerate(text, caps))
    }

    /// Feedback when a report must be revised: `results` approved tool calls
    /// with results so far, `calls_left` tool calls the caps still allow.
    pub fn report(&self, text: &str, results: u32, calls_left: u32, feedback: &[String], caps: &Caps) -> Option<String> {
        // A report cannot be asked for calls the caps no longer allow.
        let needed = self.min_tool_calls.min(results + calls_left);
        if results < needed {
            let have = match results {
                0 => "no tool results".to_string(),
                1 => "1 tool result".to_string(),
                n => format!("{n} tool results"),
            };
            return Some(format!(
                "The report rests on {have}; a report needs at least {needed}. Call the tools first (product_search, then \
                 visit_product or web_search on what it returns) and write the report from their results."
            ));
        }
        self.echo(text, "report", caps.echo_words, 0)
            .or_else(|| echoed_feedback(text, feedback, caps.echo_words))
            .or_else(|| cut_off(text))
            .or_else(|| degenerate(text, caps))
            // The distiller's own rules for a report, where the supervisor
            // serves a distiller (its `min_tool_calls` is set).
            .or_else(|| (self.min_tool_calls > 0).then(|| unfinished(text).or_else(|| thin(text, caps.min_report_words))).flatten())
    }

    /// Feedback when `text` repeats the agent's own instructions in runs of
    /// `n` words (0: off). `min_percent`: the share of the text's word runs
    /// that must be instruction runs (0: any one run).
    fn echo(&self, text: &str, what: &str, n: u32, min_percent: u32) -> Option<String> {
        if n == 0 {
            return None;
        }
        let n = n as usize;
        let instructions = self.instruction_runs(n);
        let words = words(text);
        let runs = words.windows(n).count();
        let mut echoed = words.windows(n).filter(|w| instructions.contains(*w));
        let first = echoed.next()?;
        if (1 + echoed.count()) * 100 < min_percent as usize * runs {
            return None;
        }
        let echoed = first;
        Some(format!(
            "The {what} repeats your instructions (\"{}\") instead of carrying them out; write only the {what} itself.",
            echoed.join(" ")
        ))
    }
}

/// The parts of a template outside `{{ }}`, `{% %}` and `{# #}`.
fn literal_segments(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find(['{']) {
        let close = match rest[open..].chars().nth(1) {
            Some('{') => "}}",
            Some('%') => "%}",
            Some('#') => "#}",
            _ => {
                out.push(&rest[..open + 1]);
                rest = &rest[open + 1..];
                continue;
            }
        };
        out.push(&rest[..open]);
        rest = rest[open..].find(close).map_or("", |end| &rest[open + end + 2..]);
    }
    out.push(rest);
    out
}

/// Lowercase alphanumeric words.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Feedback when `text` stops mid-way (a length limit, a `maxLength` bound, a
/// decoder that gave up), `None` otherwise. The judgement is the model
/// client's (`productresearch_llm::completeness`), so a report the research
/// agent would re-ask is never approved here either.
pub fn cut_off(text: &str) -> Option<String> {
    productresearch_llm::completeness::is_cut_off(text)
        .map(|why| format!("The text is cut off ({why}); write it again, shorter, and finish it."))
}

/// Feedback when a report repeats feedback it was given (small models echo
/// the last message they read) in a run of `n` words (0: off).
fn echoed_feedback(report: &str, feedback: &[String], n: u32) -> Option<String> {
    if n == 0 {
        return None;
    }
    let n = n as usize;
    let given: HashSet<Vec<String>> =
        feedback.iter().flat_map(|f| words(f).windows(n).map(<[String]>::to_vec).collect::<Vec<_>>()).collect();
    let echoed = words(report).windows(n).find(|w| given.contains(*w)).map(|w| w.join(" "))?;
    Some(format!(
        "The report repeats the feedback (\"{echoed}\") instead of acting on it; write the report itself: the products, their prices and the evidence."
    ))
}

/// Feedback when a report fails the distiller's rule for a finished report
/// (it ends on a heading, a bare phrase, an unclosed bracket): one rule, so
/// the supervisor never approves a report the distiller drops.
fn unfinished(report: &str) -> Option<String> {
    productresearch_llm::report_end::check(report)
        .err()
        .map(|why| format!("The report is unfinished ({why}); write the whole report and end it with a complete sentence."))
}

/// Feedback when a report has fewer than `min_words` words (0: off): fewer
/// cannot compare products with their prices and evidence.
fn thin(report: &str, min_words: u32) -> Option<String> {
    let n = report.split_whitespace().count();
    (n < min_words as usize).then(|| {
        format!(
            "The report has only {n} words; answer the query in at least {min_words}: recommend products by their [product_id] \
             with prices and the evidence the tool results gave."
        )
    })
}

/// Characters of a tool error quoted back in the feedback.
const QUOTED_ERROR_CHARS: usize = 200;

/// The result check (`check_results`, off by default): feedback when a tool
/// result is a tool error or empty, so the agent fixes the call instead of
/// building on nothing; `None` for a usable result. Without the check a
/// result is recorded as it comes and no verdict goes back to the agent.
pub fn unusable_result(result: &ToolResult) -> Option<String> {
    let content = result.content.trim();
    if result.is_error {
        let error = truncate(content.lines().next().unwrap_or(""), QUOTED_ERROR_CHARS);
        return Some(format!("{} failed ({error}); fix the arguments or use another tool before relying on it.", result.name));
    }
    content.is_empty().then(|| format!("{} returned nothing; change the arguments or use another tool.", result.name))
}

/// Name plus canonical arguments (serde_json objects sort their keys), so
/// `{"a":1,"b":2}` and `{ "b": 2, "a": 1 }` are the same call.
fn key(name: &str, args: &serde_json::Value) -> (String, String) {
    (name.to_string(), args.to_string())
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_and_empty_results_are_unusable() {
        let result =
            |content: &str, is_error| ToolResult { call_id: "c".into(), name: "web_visit".into(), content: content.into(), is_error };
        let failed = unusable_result(&result("url is not allowed: 10.0.0.1\nmore", true)).unwrap();
        assert!(failed.starts_with("web_visit failed (url is not allowed: 10.0.0.1)"), "{failed}");
        assert!(unusable_result(&result("  \n", false)).unwrap().contains("returned nothing"));
        assert_eq!(unusable_result(&result("{\"results\": []}", false)), None);
    }

    fn checker_specs() -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "product_search".into(),
            description: "d".into(),
            parameters: json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1}, "limit": {"type": "integer", "maximum": 20}}, "required": ["query"]}),
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
        let f = checker().check(&call("web_serch", "{}")).unwrap();
        assert!(f.contains("web_serch") && f.contains("product_search"), "{f}");
    }

    #[test]
    fn schema_violations_are_explained() {
        let c = checker();
        assert!(c.check(&call("product_search", "{\"limit\": 3}")).unwrap().contains("query"));
        assert!(c.check(&call("product_search", "{\"query\": \"x\", \"limit\": 99}")).unwrap().contains("schema"));
        assert!(c.check(&call("product_search", "[1]")).unwrap().contains("one JSON object"));
        assert!(c.check(&call("product_search", "{\"query\": \"x\"}")).is_none());
    }

    #[test]
    fn exact_repeats_are_caught_regardless_of_key_order() {
        let mut c = checker();
        c.record(&call("product_search", "{\"query\": \"x\", \"limit\": 3}"));
        assert!(c.check(&call("product_search", "{ \"limit\": 3, \"query\": \"x\" }")).unwrap().contains("already called"));
        assert!(c.check(&call("product_search", "{\"query\": \"y\", \"limit\": 3}")).is_none());
    }

    #[test]
    fn near_repeats_are_caught_modulo_order_case_and_stopwords() {
        let mut c = checker();
        c.record(&call("product_search", r#"{"query": "noise cancelling headphones under 300", "limit": 5}"#));
        let again = c.check(&call("product_search", r#"{"query": "The best Headphones, noise-cancelling, under 300", "limit": 5}"#));
        assert!(again.unwrap().contains("nearly the same"));
        // Other limit, or a different product: a new call.
        assert!(c.check(&call("product_search", r#"{"query": "noise cancelling headphones under 300", "limit": 10}"#)).is_none());
        assert!(c.check(&call("product_search", r#"{"query": "noise cancelling earbuds under 300"}"#)).is_none());
        // Ids are compared exactly, never by words.
        c.record(&call("product_search", r#"{"query": "B0ABC"}"#));
        assert!(c.check(&call("product_search", r#"{"query": "B0ABD"}"#)).is_none());
    }

    #[test]
    fn degenerate_output_is_rejected_before_it_costs_a_call() {
        let looped = "compare the battery life ".repeat(12);
        assert!(degenerate(&looped, &Caps::default()).unwrap().contains("repeats itself"));
        let c = checker();
        let args = serde_json::json!({"query": looped}).to_string();
        assert!(c.check(&call("product_search", &args)).unwrap().contains("repeats itself"));
        let report = "The Sony WH-1000XM5 leads on noise cancelling and comfort; the Bose QC45 is lighter and cheaper at $249, \
            while the Sennheiser Momentum 4 lasts longest on a charge (60 hours) but costs more. For a commuter under $300 the Bose \
            is the better value; for long flights the Sennheiser.";
        assert!(degenerate(report, &Caps::default()).is_none());
        assert!(degenerate("yes yes yes yes", &Caps::default()).is_none(), "short texts are not judged");
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
        assert!(with(Caps::default()).check(&looser).is_none());
        assert!(with(Caps { near_repeat_percent: 44, ..Caps::default() }).check(&looser).is_none());
        assert!(with(Caps { near_repeat_percent: 40, ..Caps::default() }).check(&looser).unwrap().contains("nearly the same"));
        let near = call("product_search", r#"{"query": "The best Headphones, noise-cancelling, under 300"}"#);
        assert!(with(Caps::default()).check(&near).is_some());
        assert!(with(Caps { near_repeat_percent: 0, ..Caps::default() }).check(&near).is_none(), "0 switches it off");

        let looped = "compare the battery life ".repeat(12);
        assert!(degenerate(&looped, &Caps { degenerate_repeat_percent: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(degenerate(&looped, &Caps { degenerate_repeat_percent: 95, ..Caps::default() }).is_none(), "91 % repeated");
        assert!(degenerate(&looped, &Caps { degenerate_min_words: 49, ..Caps::default() }).is_none(), "48 words are too few");
        let short = "yes yes yes yes yes yes";
        assert!(degenerate(short, &Caps { degenerate_min_words: 0, ..Caps::default() }).unwrap().contains("repeats itself"));
    }

    #[test]
    fn text_guards_follow_their_settings() {
        let t = texts(2);
        let echo_plan = "Now carry out your plan: call the tools one at a time.";
        assert!(t.plan(echo_plan, &Caps::default()).is_some());
        assert!(t.plan(echo_plan, &Caps { plan_echo_percent: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(t.plan(echo_plan, &Caps { echo_words: 0, ..Caps::default() }).is_none(), "0 switches it off");
        let echo_report = format!("{REPORT}\n\nNow carry out your plan: call the tools one at a time.");
        assert!(t.report(&echo_report, 2, 0, &[], &Caps::default()).unwrap().contains("repeats your instructions"));
        assert!(t.report(&echo_report, 2, 0, &[], &Caps { echo_words: 0, ..Caps::default() }).is_none());
        // Longer runs: the echoed sentence has 12 words, a run of 13 takes in the report's own.
        assert!(t.report(&echo_report, 2, 0, &[], &Caps { echo_words: 12, ..Caps::default() }).is_some());
        assert!(t.report(&echo_report, 2, 0, &[], &Caps { echo_words: 13, ..Caps::default() }).is_none());
        let given = vec!["The report has only 24 words; answer the query in at least 30 words.".to_string()];
        let echo = format!("The report has only 24 words; answer the query. {REPORT}");
        assert!(t.report(&echo, 2, 0, &given, &Caps { echo_words: 0, ..Caps::default() }).is_none());

        let short = "The Aurion Quiet 700 [hp-001] is the best pick at $329.99.";
        assert!(t.report(short, 2, 0, &[], &Caps::default()).unwrap().contains("at least 30"));
        assert!(t.report(short, 2, 0, &[], &Caps { min_report_words: 10, ..Caps::default() }).is_none());
        assert!(t.report(short, 2, 0, &[], &Caps { min_report_words: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(t.report(short, 2, 0, &[], &Caps { min_report_words: 12, ..Caps::default() }).unwrap().contains("at least 12"));
    }

    fn texts(min_tool_calls: u32) -> TextChecker {
        TextChecker::new(&productresearch_prompts::PromptSet::builtin(), min_tool_calls)
    }

    const REPORT: &str = "## Recommendation\n\nFor a commuter under $300 the Aurion Quiet 700 [hp-001] is the pick: adaptive noise \
        cancelling and 30 hours of battery at $329.99, folding flat for a work bag.\n\n- Aurion Quiet 700 [hp-001], $329.99\n\
        - https://example.com/review-aurion";

    #[test]
    fn a_report_needs_the_distillers_tool_results_unless_the_caps_forbid_more() {
        let t = texts(2);
        assert!(t.report(REPORT, 0, 8, &[], &Caps::default()).unwrap().contains("no tool results"));
        let one = t.report(REPORT, 1, 8, &[], &Caps::default()).unwrap();
        assert!(one.contains("1 tool result") && one.contains("at least 2"), "{one}");
        assert!(t.report(REPORT, 2, 6, &[], &Caps::default()).is_none());
        // One call left under the cap: asking for two would only loop.
        assert!(t.report(REPORT, 1, 0, &[], &Caps::default()).is_none());
        assert!(texts(0).report(REPORT, 0, 8, &[], &Caps::default()).is_none());
    }

    #[test]
    fn echoed_instructions_are_sent_back() {
        let t = texts(0);
        let echo = "Here is the final report in Markdown:\n\n### Start by writing a research plan as JSON {\"plan\": \"...\"}: the numbered steps.";
        let f = t.report(echo, 3, 5, &[], &Caps::default()).unwrap();
        assert!(f.contains("repeats your instructions") && f.contains("start by writing a research plan"), "{f}");
        let plan = "Now carry out your plan: call the tools one at a time.";
        assert!(t.plan(plan, &Caps::default()).unwrap().contains("repeats your instructions"));
        assert!(
            t.plan("1. Search the catalog for quiet kettles under $60. 2. Open the top three. 3. Compare noise reviews.", &Caps::default())
                .is_none()
        );
        // A real plan (the 1.5B model's) that names a tool in the tool list's words.
        let named = "1. Search the product catalog for semi-automatic espresso machines with steam wand, built-in grinder, and under 600 \
                     dollars. 2. Visit the product's full record by product_id for the three best. 3. Use web_search to find reviews and \
                     buying guides. 4. Read one page by url from the reviews. 5. Compare price, grinder quality and steam power.";
        assert!(t.plan(named, &Caps::default()).is_none(), "{:?}", t.plan(named, &Caps::default()));
        assert!(
            t.report(named, 3, 5, &[], &Caps::default()).unwrap().contains("repeats your instructions"),
            "one run is enough in a report"
        );
        assert!(t.report(REPORT, 3, 5, &[], &Caps::default()).is_none(), "{:?}", t.report(REPORT, 3, 5, &[], &Caps::default()));
    }

    #[test]
    fn cut_off_answers_are_sent_back() {
        assert!(
            cut_off("The Aurion Quiet 700 is the best choice for a commuter because its battery lasts").unwrap().contains("mid-sentence")
        );
        assert!(cut_off("Prices:\n- Aurion [hp-001] $329.99,").unwrap().contains("mid-sentence"));
        assert!(cut_off("Compare the Aurion and").unwrap().contains("cut off"));
        assert!(cut_off("```json\n{\"a\": 1}").unwrap().contains("code block"));
        assert!(cut_off("## Sources\n- https://example.com/a\n- Aurion Quiet 700 [hp-001] at $329.99").is_none());
        assert!(cut_off(REPORT).is_none());
        assert!(cut_off("report v1").is_none(), "short texts are not judged by their end");
        assert!(
            texts(0)
                .report("Buy the Aurion [hp-001] since it is quiet, light and folds flat for the", 2, 0, &[], &Caps::default())
                .is_some()
        );
    }

    // What the distiller would drop, and what is no answer at all, never reaches the model's verdict.
    #[test]
    fn thin_unfinished_and_feedback_echoing_reports_are_sent_back() {
        let t = texts(2);
        assert!(t.report("Visit_product", 2, 0, &[], &Caps::default()).unwrap().contains("unfinished"));
        let heading = format!("{REPORT}\n\n## Noise Cancelling Headphones: Common Issues");
        assert!(t.report(&heading, 2, 0, &[], &Caps::default()).unwrap().contains("ends with a heading"));
        let short = "The Aurion Quiet 700 [hp-001] is the best pick at $329.99.";
        assert!(t.report(short, 2, 0, &[], &Caps::default()).unwrap().contains("only 11 words"));
        assert!(
            texts(0).report(short, 2, 0, &[], &Caps::default()).is_none(),
            "without a distiller to serve, a short report goes to the model"
        );
        let given = vec!["The report has only 24 words; answer the query in at least 30 words.".to_string()];
        let echo = format!("The report has only 24 words; answer the query. {REPORT}");
        assert!(t.report(&echo, 2, 0, &given, &Caps::default()).unwrap().contains("repeats the feedback"));
        assert!(t.report(REPORT, 2, 0, &given, &Caps::default()).is_none());
    }
}
