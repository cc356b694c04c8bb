//! Whether a report uses what the tools returned. A report can cite nothing
//! and state no price, and so pass every citation check, while saying nothing
//! the research found: a 0.5B model wrote "Running shoes can be of poor
//! quality ... consider running shoes with better quality" after three
//! product results, and it was exported. Such an example teaches a model to
//! call tools and then ignore them.
//!
//! One approved tool result counts as used when a report of the trajectory
//! (the one judged, or an earlier approved one: a follow-up's answer builds on
//! the first) contains one of its marks: a product id or URL it returned, the
//! lead of a title it returned (the first three words, what a report calls a
//! product by), a price it gave, or a run of [`RUN_WORDS`] words of its text
//! (a feature or review retold).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{number, stated_facts, title_lead_hashes};
use crate::words::{self, RunSet, Words};

/// Words in a run of a result's text that, found in the report, shows the
/// report retold that result: long enough that common phrases ("for people
/// who want a") rarely match by chance.
pub const RUN_WORDS: usize = 5;

/// Ids and URLs shorter than this are too likely to occur by chance.
const MIN_KEY: usize = 3;

/// What marks one approved tool result.
#[derive(Debug, Default)]
pub(super) struct Marks {
    /// Product ids and URLs it returned, lowercase.
    keys: BTreeSet<String>,
    /// The title leads of what it returned, as word hashes.
    leads: Vec<Vec<u64>>,
    /// Its texts (each JSON string apart, so a run never crosses from one
    /// into the next), read for runs of [`RUN_WORDS`] words only when no
    /// cheaper mark is found: hashing every word of every result was most of
    /// the grounding check's CPU, and a result is mostly used by its id or
    /// title.
    texts: Vec<String>,
    /// The prices it gave.
    prices: Vec<f64>,
}

impl Marks {
    /// The marks of a tool result's `content`, JSON or plain text.
    #[cfg(test)]
    fn of(content: &str) -> Self {
        Self::of_parsed(serde_json::from_str(content).ok().as_ref(), content)
    }

    /// The marks of `content`, given as parsed when it is JSON.
    fn of_parsed(parsed: Option<&Value>, content: &str) -> Self {
        let mut marks = Self::default();
        match parsed {
            Some(value) => marks.add(value, None),
            None => {
                marks.add_text(content);
                marks.prices = stated_facts(content).0;
                for key in super::urls(content).into_iter().chain(super::product_ids(content)) {
                    marks.add_key(&key);
                }
            }
        }
        marks
    }

    /// The marks of the result of a call with `arguments` (`parsed`: its
    /// content as JSON, when it is): the page or product it asked for marks
    /// its result too (a visited page's text rarely repeats its own URL).
    pub(super) fn of_call(arguments: &Value, parsed: Option<&Value>, content: &str) -> Self {
        let mut marks = Self::of_parsed(parsed, content);
        for key in ["url", "product_id"] {
            if let Some(value) = arguments.get(key).and_then(super::scalar) {
                marks.add_key(&value);
            }
        }
        marks
    }

    fn add(&mut self, value: &Value, key: Option<&str>) {
        match value {
            Value::Object(o) => o.iter().for_each(|(k, v)| self.add(v, Some(k))),
            Value::Array(items) => items.iter().for_each(|v| self.add(v, key)),
            Value::String(s) => {
                match key {
                    Some("product_id" | "url" | "id" | "asin") => self.add_key(s),
                    Some("title" | "name") => self.leads.extend(title_lead_hashes(s)),
                    _ => {}
                }
                self.add_text(s);
            }
            Value::Number(n) if key == Some("product_id") => self.add_key(&n.to_string()),
            _ => {}
        }
        if key == Some("price") {
            self.prices.extend(number(value));
        }
    }

    /// Whether a report could use nothing of it: no id, URL, title, price or
    /// text of a run's length (`{"results": []}`, an empty page).
    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
            && self.leads.is_empty()
            && self.prices.is_empty()
            && self.texts.iter().all(|t| t.split_whitespace().nth(RUN_WORDS - 1).is_none())
    }

    fn add_key(&mut self, key: &str) {
        let key = super::normal_url(key.trim()).to_lowercase();
        if key.len() >= MIN_KEY {
            self.keys.insert(key);
        }
    }

    fn add_text(&mut self, text: &str) {
        self.texts.push(text.to_string());
    }
}

/// Reports, read once for every result they are compared with.
pub(super) struct Reading {
    lower: String,
    /// Word hashes of all the reports, a separator between two.
    words: Vec<u64>,
    runs: RunSet,
    prices: Vec<f64>,
}

impl Reading {
    #[cfg(test)]
    fn of(report: &str) -> Self {
        Self::of_all([report])
    }

    /// `reports` read as one; a run never spans two of them.
    pub(super) fn of_all<'a>(reports: impl IntoIterator<Item = &'a str>) -> Self {
        let mut reading = Self { lower: String::new(), words: Vec::new(), runs: RunSet::default(), prices: Vec::new() };
        for report in reports {
            let words = Words::alphanumeric(report);
            reading.runs.extend(words.runs(RUN_WORDS));
            reading.prices.extend(stated_facts(report).0);
            reading.lower.push_str(&report.to_lowercase());
            reading.lower.push('\n');
            // The separator keeps a title lead from spanning two reports.
            reading.words.extend_from_slice(words.hashes());
            reading.words.push(words::separator());
        }
        reading
    }

    /// Whether the report contains one of `marks`.
    pub(super) fn uses(&self, marks: &Marks) -> bool {
        marks.keys.iter().any(|k| self.lower.contains(k.as_str()))
            || marks.leads.iter().any(|lead| self.words.windows(lead.len()).any(|w| w == lead.as_slice()))
            || marks.prices.iter().any(|p| self.prices.iter().any(|q| (p - q).abs() < 0.005))
            || marks.texts.iter().any(|text| Words::alphanumeric(text).runs(RUN_WORDS).any(|run| self.runs.contains(&run)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"product_id":"hp-006","title":"Vanta Air Lite Open-Ear Sport Earbuds","price":129.0,
        "features":["Open-ear sport earbuds with ear hooks that keep you aware of traffic while running."],
        "reviews":[{"title":"Great","text":"Comfortable with sunglasses on long runs."}]}"#;

    #[test]
    fn a_result_is_used_by_its_id_title_or_a_retold_run() {
        let marks = Marks::of(RECORD);
        for report in [
            "The best pick is HP-006.",
            "The Vanta Air Lite fits runners.",
            "Reviewers find it comfortable with sunglasses on long runs, which matters here.",
        ] {
            assert!(Reading::of(report).uses(&marks), "{report}");
        }
    }

    #[test]
    fn an_empty_result_has_nothing_to_use() {
        assert!(Marks::of(r#"{"results":[],"total":0}"#).is_empty());
        assert!(Marks::of(r#"{"results":[],"note":"no match"}"#).is_empty());
        assert!(!Marks::of(RECORD).is_empty());
        assert!(!Marks::of_call(&serde_json::json!({"url": "https://a.example/review"}), None, "").is_empty());
    }

    #[test]
    fn a_generic_report_uses_nothing() {
        let marks = Marks::of(RECORD);
        // Shares words ("sport", "earbuds", "running") but no id, title lead or run of five.
        let report = "Running earbuds can be of poor quality. Consider sport earbuds with better quality for running.";
        assert!(!Reading::of(report).uses(&marks));
        // Runs do not cross from one JSON string into the next.
        assert!(
            !Reading::of("while running comfortable with sunglasses on")
                .uses(&Marks::of(r#"{"a":"keep aware while running","b":"comfortable with sunglasses on"}"#))
        );
    }

    #[test]
    fn plain_text_results_are_read_as_text() {
        let marks = Marks::of("Page https://r.example/guide says: pick a shoe with a wide toe box for long runs.");
        assert!(Reading::of("See https://r.example/guide/.").uses(&marks));
        assert!(Reading::of("Pick a shoe with a wide toe box.").uses(&marks));
        assert!(!Reading::of("Pick a comfortable shoe.").uses(&marks));
        assert!(Reading::of("Buy [hp-001].").uses(&Marks::of("[hp-001] Aurion Quiet 700")));
        // The page a call asked for.
        let visit = Marks::of_call(&serde_json::json!({"url": "https://a.example/review"}), None, "great");
        assert!(Reading::of("(https://a.example/review)").uses(&visit));
        // A price the result gave, restated.
        assert!(Reading::of("The Oster Pro costs $79.").uses(&Marks::of("1. Oster Pro $79")));
        assert!(Reading::of("It sells for 129 USD (price: 129.0).").uses(&Marks::of(RECORD)));
        assert!(!Reading::of("Spend at most $100.").uses(&Marks::of("1. Oster Pro $79")));
    }

    #[test]
    fn earlier_reports_count_and_are_read_apart() {
        let marks = Marks::of("1. Ninja BN701 $89");
        assert!(Reading::of_all(["Buy the Ninja ($89).", "With a glass jar, the Oster."]).uses(&marks));
        let lead = Marks::of(r#"{"title":"Vanta Air Lite"}"#);
        assert!(!Reading::of_all(["... the Vanta", "Air Lite ..."]).uses(&lead));
    }
}
