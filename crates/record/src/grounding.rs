//! Report grounding: what the final report cites must have been opened in the
//! same trajectory, and the facts it states must match what a tool returned. A
//! report citing a page it never read (a search hit, or a page from another
//! task) or quoting a price no tool gave teaches a model to invent evidence.
//!
//! Citations are URLs (`http://` or `https://`, up to whitespace or a closing
//! bracket) and bracketed ids such as `[hp-001]` or `[B07XJ8C8F5]`: one token of
//! letters, digits and `-_.:/` with at least one digit (so `[1]`-style footnote
//! numbers and tool names such as `[web_visit]` are not ids; a footnote number
//! has no letter and is skipped too).
//!
//! - a URL counts as opened when an approved `web_visit` call asked for it (or
//!   landed on it: the result's `url`, after redirects) and got a result, or
//!   when it is the `url` of a product record `visit_product` returned;
//! - a product id counts as opened when an approved `visit_product` call asked
//!   for it, or a `product_search` (or `visit_product`) result returned it;
//! - a price (`$89`, `₹1,299`, `price: 19.5`) or rating (`rating: 4.5`, `4.5/5`,
//!   `4.5 stars`) must equal one a tool returned: the cited product's own when
//!   the line cites exactly one product the tools described, else any;
//! - the name right before a product's citation must not be another returned
//!   product's title (its first three words) instead of its own;
//! - the report must use enough of the results ([`check_use`], [`uses`]): a
//!   report that cites nothing passes the rules above without using any.
//!
//! One rule for everyone who judges a report: the supervisor sends back a
//! report that fails it (when it serves a distiller), the distiller drops one.

mod uses;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::words::Words;
use crate::{StepKind, Trajectory};
use serde_json::Value;

/// The product ids and URLs `report` cites, deduplicated, in sorted order:
/// URLs, bracketed ids, and ids written after "product id".
pub fn citations(report: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = urls(report).into_iter().collect();
    out.extend(product_ids(report));
    out.extend(named_ids(report));
    out
}

/// The URLs of `text`, in order.
fn urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("http") {
        let rest = &text[i..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let end = rest.find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '>' | '"' | '\'' | '<')).unwrap_or(rest.len());
        // Sentence punctuation and Markdown emphasis (`**https://…**`) are not part of it.
        let url = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', '*', '_', '`']);
        if url.len() > "https://".len() {
            out.push(url.to_string());
        }
    }
    out
}

/// The bracketed product ids of `text`, in order.
fn product_ids(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let token = rest[..close].trim();
        let id_like = !token.is_empty()
            && token.len() <= 64
            && !token.starts_with("http")
            && token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
            && token.chars().any(|c| c.is_ascii_digit())
            && token.chars().any(|c| c.is_ascii_alphabetic());
        if id_like {
            out.push(token.to_string());
        }
    }
    out
}

/// The ids `text` writes after "product id" ("product_id 10001", "**Product
/// ID**: B089WB69Y1", any case): a 0.5B report restated its plan with
/// "visit the product's full record by product_id 10001", ids no tool gave,
/// and was approved since only bracketed ids were checked. An id must hold a
/// digit (catalog ids do; "product id of the cheapest" names none).
fn named_ids(text: &str) -> Vec<String> {
    const MARKS: [&str; 3] = ["product_id", "product id", "product-id"];
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    for mark in MARKS {
        for (at, _) in lower.match_indices(mark) {
            let after = &text[at + mark.len()..];
            let token_at = after.find(|c: char| !(c.is_whitespace() || "*:`=#".contains(c))).unwrap_or(after.len());
            // "product ids": a plural names no one id.
            if token_at == 0 {
                continue;
            }
            let token = &after[token_at..];
            let end = token.find(|c: char| !(c.is_ascii_alphanumeric() || "-_".contains(c))).unwrap_or(token.len());
            let id = &token[..end];
            if !id.is_empty() && id.len() <= 64 && id.chars().any(|c| c.is_ascii_digit()) {
                out.push(id.to_string());
            }
        }
    }
    out
}

/// What the tools of one trajectory opened and said.
#[derive(Debug, Default)]
pub struct Evidence {
    /// URLs opened by `web_visit`.
    pub opened_urls: BTreeSet<String>,
    /// Products opened by `visit_product` or returned by a product tool.
    pub products: BTreeSet<String>,
    /// Prices and ratings each product was returned with.
    facts: BTreeMap<String, ProductFacts>,
    /// Every price and rating any tool result states.
    any: ProductFacts,
    /// Text of the product tools' results that are not JSON (ids are then
    /// matched as substrings).
    product_text: String,
    /// The marks of each approved result, in order.
    results: Vec<uses::Marks>,
    /// The texts of the approved reports, in order.
    reports: Vec<String>,
}

#[derive(Debug, Default, Clone)]
struct ProductFacts {
    prices: Vec<f64>,
    ratings: Vec<f64>,
    /// The first words of the product's title, lowercase ([`title_lead`]).
    title_lead: Option<Vec<String>>,
}

impl Evidence {
    /// What the approved calls of `trajectory` opened and returned.
    pub fn of(trajectory: &Trajectory) -> Self {
        let mut e = Self::default();
        // A budget the user named ("under $100") may be restated.
        if let Some(intent) = trajectory.intent() {
            e.any.add_text(&intent.query);
        }
        let steps = trajectory.steps();
        let approved = steps.iter().filter(|(_, s, v)| s.kind == StepKind::Report && v.is_some_and(|v| v.approved()));
        e.reports = approved.map(|(_, s, _)| s.text.clone()).collect();
        for w in steps.windows(2) {
            let ((_, call, verdict), (_, result, _)) = (&w[0], &w[1]);
            let (Some(c), Some(r)) = (&call.tool_call, &result.tool_result) else { continue };
            if call.kind != StepKind::ToolCall || !verdict.is_some_and(|v| v.approved()) || r.call_id != c.id || r.is_error {
                continue;
            }
            let args: Value = serde_json::from_str(&c.arguments).unwrap_or(Value::Null);
            let parsed: Option<Value> = serde_json::from_str(&r.content).ok();
            e.results.push(uses::Marks::of_call(&args, parsed.as_ref(), &r.content));
            e.any.add_text(&r.content);

            match c.name.as_str() {
                "web_visit" => {
                    if let Some(url) = args.get("url").and_then(Value::as_str) {
                        e.opened_urls.insert(normal_url(url));
                    }
                    if let Some(url) = parsed.as_ref().and_then(|p| p.get("url")).and_then(Value::as_str) {
                        e.opened_urls.insert(normal_url(url));
                    }
                }
                "visit_product" | "product_search" => {
                    if c.name == "visit_product" {
                        if let Some(id) = args.get("product_id").and_then(scalar) {
                            e.products.insert(id);
                        }
                        // The product's page, as its record names it, was opened with it.
                        if let Some(url) = parsed.as_ref().and_then(|p| p.get("url")).and_then(Value::as_str) {
                            e.opened_urls.insert(normal_url(url));
                        }
                    }
                    match &parsed {
                        Some(v) => e.add_products(v),
                        None => {
                            e.product_text.push_str(&r.content);
                            e.product_text.push('\n');
                        }
                    }
                }
                _ => {}
            }
        }
        e
    }

    fn add_products(&mut self, value: &Value) {
        match value {
            Value::Object(o) => {
                // Any object's price or rating was returned: a review's
                // `"rating": 5.0` inside a product record too.
                self.any.prices.extend(o.get("price").and_then(number));
                self.any.ratings.extend(o.get("rating").and_then(number));
                if let Some(id) = o.get("product_id").and_then(scalar) {
                    let facts = self.facts.entry(id.clone()).or_default();
                    facts.prices.extend(o.get("price").and_then(number));
                    facts.ratings.extend(o.get("rating").and_then(number));
                    if let Some(lead) = o.get("title").and_then(Value::as_str).and_then(title_lead) {
                        facts.title_lead = Some(lead);
                    }
                    self.products.insert(id);
                }
                o.values().for_each(|v| self.add_products(v));
            }
            Value::Array(items) => items.iter().for_each(|v| self.add_products(v)),
            _ => {}
        }
    }

    fn product_opened(&self, id: &str) -> bool {
        self.products.contains(id) || self.product_text.contains(id)
    }

    /// Fails when the name written right before `line`'s citation of `id`
    /// (the 80 characters before `[id]`) is another returned product's title
    /// and not `id`'s own: a 0.5B report gave a shoe another shoe's name. A
    /// name after the citation ("cheaper than the Apex ...") may compare.
    fn check_name(&self, id: &str, facts: &ProductFacts, line: &str) -> Result<(), String> {
        let Some(own) = &facts.title_lead else { return Ok(()) };
        let Some(at) = line.find(&format!("[{id}]")) else { return Ok(()) };
        let start = line[..at].char_indices().rev().nth(79).map_or(0, |(i, _)| i);
        let before = words(&line[start..at]);
        let names = |lead: &[String]| before.windows(lead.len()).any(|w| w == lead);
        if names(own) {
            return Ok(());
        }
        let other =
            self.facts.iter().find(|(other, f)| *other != id && f.title_lead.as_deref().is_some_and(|lead| lead != own && names(lead)));
        match other {
            Some((other, f)) => Err(format!(
                "the report names [{id}] \"{}\", which is the title of {other}, not of {id} (line {:?})",
                f.title_lead.as_deref().unwrap_or_default().join(" "),
                clip(line)
            )),
            None => Ok(()),
        }
    }
}

/// The first three words of a product title, lowercase, what a report calls
/// the product by ("Apex Run Stability"); `None` for a title of one word,
/// too common to tell products apart.
fn title_lead(title: &str) -> Option<Vec<String>> {
    let lead: Vec<String> = words(title).into_iter().take(LEAD_WORDS).collect();
    (lead.len() >= 2).then_some(lead)
}

/// Words in a title's lead.
const LEAD_WORDS: usize = 3;

/// [`title_lead`] as word hashes ([`Words`]).
fn title_lead_hashes(title: &str) -> Option<Vec<u64>> {
    let words = Words::alphanumeric(title);
    let lead = &words.hashes()[..words.len().min(LEAD_WORDS)];
    (lead.len() >= 2).then(|| lead.to_vec())
}

/// Lowercase runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

impl ProductFacts {
    /// Prices and ratings stated in free text.
    fn add_text(&mut self, text: &str) {
        let (prices, ratings) = stated_facts(text);
        self.prices.extend(prices);
        self.ratings.extend(ratings);
    }
}

/// Checks that every citation of `report` was opened in `trajectory`; the
/// number of citations on success, the unopened ones otherwise.
pub fn check(trajectory: &Trajectory, report: &str) -> Result<usize, String> {
    check_with(&Evidence::of(trajectory), report)
}

/// [`check`] against evidence already gathered.
pub fn check_with(evidence: &Evidence, report: &str) -> Result<usize, String> {
    let cited = citations(report);
    let missing: Vec<&str> = cited
        .iter()
        .map(String::as_str)
        .filter(|c| if c.starts_with("http") { !evidence.opened_urls.contains(&normal_url(c)) } else { !evidence.product_opened(c) })
        .collect();
    if missing.is_empty() {
        Ok(cited.len())
    } else {
        let shown: Vec<&str> = missing.iter().take(5).copied().collect();
        Err(format!(
            "the report cites {} that no web_visit, visit_product or product_search of this trajectory opened: {}",
            missing.len(),
            shown.join(", ")
        ))
    }
}

/// Checks that `report`, with the approved reports before it, uses at least
/// `min` of the approved tool results (their ids, URLs, title leads, prices
/// or runs of text, see [`uses`]); the number used on success. `min` 0: off.
///
/// A result that returned nothing (`{"results": []}`) cannot be used, so it
/// does not raise the bar: `min` is capped at the results that returned
/// something, and stays one when none did (such a report reports no
/// research). Counting empty results made a report that used the one search
/// with hits fail "uses 1 of 2" in every round until the round cap.
pub fn check_use(evidence: &Evidence, report: &str, min: usize) -> Result<usize, String> {
    let reading = uses::Reading::of_all(evidence.reports.iter().map(String::as_str).chain([report]));
    let used = evidence.results.iter().filter(|marks| reading.uses(marks)).count();
    let returned = evidence.results.iter().filter(|marks| !marks.is_empty()).count();
    let min = if min == 0 { 0 } else { min.min(returned).max(1) };
    if used >= min {
        return Ok(used);
    }
    Err(format!(
        "the report uses {used} of the {returned} tool results that returned something (their product ids, URLs, titles or sentences), fewer than {min}"
    ))
}

/// Checks that every price and rating `report` states matches a tool result;
/// the number of stated facts on success.
pub fn check_facts(evidence: &Evidence, report: &str) -> Result<usize, String> {
    let mut checked = 0;
    for line in report.lines() {
        let (prices, ratings) = stated_facts(line);
        // A line about exactly one described product must quote that product.
        let ids: BTreeSet<String> = product_ids(line).into_iter().collect();
        let own = match ids.iter().collect::<Vec<_>>().as_slice() {
            [one] => evidence.facts.get(*one),
            _ => None,
        };
        if let (Some(facts), Some(id)) = (own, ids.iter().next()) {
            evidence.check_name(id, facts, line)?;
        }
        if prices.is_empty() && ratings.is_empty() {
            continue;
        }
        for (kind, stated, known) in [
            ("price", &prices, own.map_or(&evidence.any.prices, |f| if f.prices.is_empty() { &evidence.any.prices } else { &f.prices })),
            (
                "rating",
                &ratings,
                own.map_or(&evidence.any.ratings, |f| if f.ratings.is_empty() { &evidence.any.ratings } else { &f.ratings }),
            ),
        ] {
            for value in stated {
                if !known.iter().any(|k| (k - value).abs() < 0.005) {
                    let whose = match (own, ids.iter().next()) {
                        (Some(_), Some(id)) => format!(" for {id}"),
                        _ => String::new(),
                    };
                    // The closest value the results give: a small model told
                    // only "599.05 is wrong" wrote 599.05 again in three
                    // rounds when the result said 599.0.
                    let closest = match known.iter().min_by(|a, b| (*a - value).abs().total_cmp(&(*b - value).abs())) {
                        Some(k) => format!("; the closest {kind} the results give{whose} is {}", fact(*k)),
                        None => String::new(),
                    };
                    return Err(format!(
                        "the report states {kind} {}{whose}, which no tool result gives{closest} (line {:?})",
                        fact(*value),
                        clip(line)
                    ));
                }
                checked += 1;
            }
        }
    }
    Ok(checked)
}

/// A price or rating as a report would write it: 599, 599.05, 4.1.
fn fact(value: f64) -> String {
    let two = format!("{value:.2}");
    two.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn clip(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// A URL compared without a trailing slash or fragment.
fn normal_url(url: &str) -> String {
    let url = url.split('#').next().unwrap_or(url);
    url.trim_end_matches('/').to_string()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => leading_number(s.trim_start_matches(|c: char| !c.is_ascii_digit())).map(|(n, _)| n),
        _ => None,
    }
}

/// The number at the start of `s` (`1,299.50` → 1299.5) and its length in bytes.
fn leading_number(s: &str) -> Option<(f64, usize)> {
    let mut end = 0;
    let mut seen_dot = false;
    for (i, c) in s.char_indices() {
        let next_digit = s[i + c.len_utf8()..].starts_with(|d: char| d.is_ascii_digit());
        match c {
            '0'..='9' => end = i + 1,
            ',' if end > 0 && next_digit => {}
            '.' if end > 0 && !seen_dot && next_digit => seen_dot = true,
            _ => break,
        }
    }
    (end > 0).then(|| s[..end].replace(',', "").parse().ok().map(|n| (n, end))).flatten()
}

/// Marks a price follows: a currency sign or code, or `price:`.
const PRICE_MARKS: &[&str] = &["$", "₹", "€", "£", "rs.", "rs ", "inr ", "usd ", "price:", "price is", "priced at"];
/// Marks a rating follows.
const RATING_MARKS: &[&str] = &["rating:", "rating of", "rated "];
/// Marks a rating comes before: `4.5/5`, `4.5 stars`, `4.5 out of 5`.
const SCALE_MARKS: &[&str] = &["/5", " stars", " out of 5"];

/// All the marks, found in one pass over a text (tool results run to pages;
/// a pass per mark over a lowercased copy was the largest part of the
/// grounding check's CPU).
static FACT_MARKS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(PRICE_MARKS.iter().chain(RATING_MARKS).chain(SCALE_MARKS))
        .expect("the fact marks are valid patterns")
});

/// Prices (after a currency sign or code, or `price:`) and ratings (`rating:`,
/// `rated`, or before `/5`, `stars`, `out of 5`) stated in `text`, any case.
fn stated_facts(text: &str) -> (Vec<f64>, Vec<f64>) {
    let mut found: Vec<(usize, usize, usize)> =
        FACT_MARKS.find_overlapping_iter(text).map(|m| (m.pattern().as_usize(), m.start(), m.end())).collect();
    // By mark, then in text order: the same fact after two marks ("$" and
    // "usd ") is stated once.
    found.sort_unstable();
    let mut prices = Vec::new();
    let mut ratings = Vec::new();
    let rated = PRICE_MARKS.len() + RATING_MARKS.len();
    for (mark, start, end) in found {
        if mark < rated {
            let Some((n, _)) = leading_number(text[end..].trim_start_matches([' ', '$', '₹', '€', '£'])) else { continue };
            if mark < PRICE_MARKS.len() {
                prices.push(n)
            } else {
                ratings.push(n)
            }
            continue;
        }
        // The number right before the mark (digits and dots are ASCII, so a
        // count of bytes ends on a character boundary).
        let before = &text[..start];
        let digits = before.bytes().rev().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let (head, number) = before.split_at(before.len() - digits);
        // "4.4 out of 5 stars": the 5 is the scale, not a rating.
        let scale = head.len() >= 7 && head.as_bytes()[head.len() - 7..].eq_ignore_ascii_case(b"out of ");
        if let Ok(n) = number.parse::<f64>()
            && !scale
            && n <= 5.0
        {
            ratings.push(n);
        }
    }
    prices.dedup();
    ratings.dedup();
    (prices, ratings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TerminationReason;
    use crate::fixtures::Script;

    #[test]
    fn finds_urls_and_id_like_brackets_only() {
        let report = "Buy [hp-001] (see https://example.com/review-1). Also [B07XJ8C8F5], per [web_visit] and [1]; \
                      more at <https://shop.example/p?id=2>.";
        let got: Vec<String> = citations(report).into_iter().collect();
        assert_eq!(got, ["B07XJ8C8F5", "hp-001", "https://example.com/review-1", "https://shop.example/p?id=2"]);
    }

    #[test]
    fn an_id_written_after_product_id_is_a_citation() {
        // Run 55's approved report, restating its plan with invented ids.
        let report = "1. **Search the Product Catalog**\n   - **Steps**: Visit the product's full record by product_id 10001.\n\
                      ### 1. **B089WB69Y1**\n- **Product ID**: B089WB69Y1\n- Product-ID: `hp-002`; product id=3706669986.\n\
                      The product ids above; the product id of the cheapest; product_identity 77.";
        let got: Vec<String> = citations(report).into_iter().collect();
        assert_eq!(got, ["10001", "3706669986", "B089WB69Y1", "hp-002"]);
        let t = researched();
        let err = check(&t, report).unwrap_err();
        assert!(err.contains("10001") && !err.contains("B01"), "{err}");
        assert_eq!(check(&t, "The best is product_id B01, then Product ID: B02."), Ok(2));
    }

    fn researched() -> Trajectory {
        let search = r#"{"results":[{"product_id":"B01","title":"One","price":19.5,"rating":4.5},{"product_id":"B02","title":"Two","price":"₹1,299","rating":4.1}]}"#;
        let hits = r#"{"results":[{"url":"https://r.example/1","title":"a"},{"url":"https://r.example/2","title":"b"}]}"#;
        Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "product_search", r#"{"query":"x"}"#, search)
            .tool("c2", "web_search", r#"{"query":"x review"}"#, hits)
            .tool("c3", "web_visit", r#"{"url":"https://r.example/1"}"#, r#"{"url":"https://r.example/1/","title":"a","content":"good"}"#)
            .report("r", None)
            .end(TerminationReason::Approved)
    }

    #[test]
    fn a_report_must_use_enough_results() {
        let e = Evidence::of(&researched());
        // [B01] is in the product search, the URL in the web search and the visited page.
        assert_eq!(check_use(&e, "Buy [B01], see https://r.example/1.", 2), Ok(3));
        let err = check_use(&e, "Running shoes can be of poor quality; pick better ones.", 2).unwrap_err();
        assert!(err.contains("uses 0 of the 3 tool results that returned something") && err.contains("fewer than 2"), "{err}");
        assert_eq!(check_use(&e, "Nothing used.", 0), Ok(0));
    }

    #[test]
    fn results_that_returned_nothing_do_not_raise_the_bar() {
        let search = r#"{"results":[{"product_id":"B01","title":"One","price":19.5}]}"#;
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", r#"{"query":"x review"}"#, r#"{"results":[]}"#)
            .tool("c2", "product_search", r#"{"query":"x"}"#, search)
            .report("r", None)
            .end(TerminationReason::Approved);
        let e = Evidence::of(&t);
        // Only the product search returned something: using it is enough.
        assert_eq!(check_use(&e, "Buy [B01].", 2), Ok(1));
        let err = check_use(&e, "Nothing found.", 2).unwrap_err();
        assert!(err.contains("uses 0 of the 1 tool results that returned something") && err.contains("fewer than 1"), "{err}");
        // Nothing returned anything: a report still has to use one.
        let empty = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", r#"{"query":"x review"}"#, r#"{"results":[]}"#)
            .tool("c2", "product_search", r#"{"query":"x"}"#, r#"{"results":[],"total":0}"#)
            .report("r", None)
            .end(TerminationReason::Approved);
        assert!(check_use(&Evidence::of(&empty), "The tools found nothing.", 2).is_err());
    }

    #[test]
    fn a_url_counts_only_when_web_visit_opened_it() {
        let e = Evidence::of(&researched());
        assert_eq!(check_with(&e, "See https://r.example/1 and [B01]."), Ok(2));
        // Returned by web_search, never visited.
        let err = check_with(&e, "See https://r.example/2.").unwrap_err();
        assert!(err.contains("https://r.example/2") && err.contains("cites 1"), "{err}");
        // A product no tool returned.
        assert!(check_with(&e, "Buy [B09].").unwrap_err().contains("B09"));
    }

    #[test]
    fn a_visited_products_page_counts_as_opened() {
        let record = r#"{"product_id":"hp-002","title":"SV-9","price":279.0,"url":"https://shop.example/p/hp-002"}"#;
        let t = Script::new("t", "q")
            .tool("c1", "visit_product", r#"{"product_id":"hp-002"}"#, record)
            .report("r", None)
            .end(TerminationReason::Approved);
        let e = Evidence::of(&t);
        assert_eq!(check_with(&e, "- **URL**: **https://shop.example/p/hp-002**\n- [hp-002] at $279."), Ok(2));
        let err = check_with(&e, "Also https://shop.example/p/hp-003.").unwrap_err();
        assert!(err.contains("https://shop.example/p/hp-003"), "{err}");
    }

    #[test]
    fn stated_prices_and_ratings_must_match_a_tool_result() {
        let e = Evidence::of(&researched());
        assert_eq!(check_facts(&e, "1. [B01] One — price: 19.5, rating: 4.5\n2. [B02] Two costs ₹1,299 (4.1/5)."), Ok(4));
        // B02's price quoted for B01.
        let err = check_facts(&e, "1. [B01] One — price: 1299").unwrap_err();
        assert!(err.contains("price 1299 for B01"), "{err}");
        let err = check_facts(&e, "Overall the best is rated 4.9 stars.").unwrap_err();
        assert!(err.contains("rating 4.9"), "{err}");
        // The feedback names the closest value the results give.
        let err = check_facts(&e, "- **Price:** $19.55").unwrap_err();
        assert!(err.contains("price 19.55, which no tool result gives; the closest price the results give is 19.5"), "{err}");
        let err = check_facts(&e, "1. [B01] One — price: 1299").unwrap_err();
        assert!(err.contains("the closest price the results give for B01 is 19.5"), "{err}");
        // A line naming no product may quote any returned fact.
        assert_eq!(check_facts(&e, "Prices run from $19.50 to ₹1,299."), Ok(2));
    }

    #[test]
    fn the_name_before_a_citation_must_be_the_cited_products() {
        let search = r#"{"results":[{"product_id":"rs-003","title":"Apex Run Stability 12 Road Shoe","price":129.0},
            {"product_id":"rs-005","title":"Norrland Trail GTX Shoe","price":149.0},{"product_id":"rs-007","title":"Apex Run Tempo","price":99.0}]}"#;
        let t = Script::new("t", "q")
            .tool("c1", "product_search", r#"{"query":"x"}"#, search)
            .report("r", None)
            .end(TerminationReason::Approved);
        let e = Evidence::of(&t);
        assert_eq!(check_facts(&e, "### Norrland Trail GTX [rs-005]: $149.0\n- **Apex Run Stability 12** [rs-003]"), Ok(1));
        // A real export: the Norrland shoe under another shoe's name.
        let err = check_facts(&e, "- **Apex Run Stability 12** [rs-005]: waterproof").unwrap_err();
        assert!(err.contains("[rs-005] \"apex run stability\", which is the title of rs-003"), "{err}");
        // A comparison after the citation, a brand alone, a line citing two: not a name.
        assert_eq!(check_facts(&e, "[rs-005] grips better than the Apex Run Stability 12."), Ok(0));
        assert_eq!(check_facts(&e, "The Apex [rs-007] at $99."), Ok(1));
        assert_eq!(check_facts(&e, "Apex Run Stability 12 [rs-003] or Norrland Trail GTX [rs-005]"), Ok(0));
    }

    #[test]
    fn a_reviews_rating_inside_a_product_record_was_returned() {
        let record = r#"{"product_id":"cm-008","title":"Lucerna Duo","price":599.0,"rating":4.1,
            "reviews":[{"rating":5.0,"title":"Great","text":"Good middle ground."},{"rating":3.0,"text":"Loud."}]}"#;
        let t = Script::new("t", "q")
            .tool("c1", "visit_product", r#"{"product_id":"cm-008"}"#, record)
            .report("r", None)
            .end(TerminationReason::Approved);
        let e = Evidence::of(&t);
        // A run's report listed the reviews under the product, on lines of their own.
        assert_eq!(check_facts(&e, "- Rating: 4.1\n  - Reviews:\n     - Rating: 5.0\n     - Rating: 3.0"), Ok(3));
        assert!(check_facts(&e, "     - Rating: 4.5").is_err());
    }

    #[test]
    fn numbers_read_with_separators() {
        assert_eq!(leading_number("1,299.50 now"), Some((1299.5, 8)));
        assert_eq!(leading_number("89."), Some((89.0, 2)));
        assert_eq!(stated_facts("Rs. 2,499 and rated 4 out of 5"), (vec![2499.0], vec![4.0]));
        assert_eq!(stated_facts("**Rating**: 4.4 out of 5 stars"), (vec![], vec![4.4]));
        assert_eq!(stated_facts("PRICE IS 12, Rated 4.2 OUT OF 5 Stars"), (vec![12.0], vec![4.2]));
        // A rating right after a multi-byte character.
        assert_eq!(stated_facts("₹4.5/5 …4 stars"), (vec![4.5], vec![4.5, 4.0]));
    }
}
