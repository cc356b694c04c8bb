//! The research report: every product id the tools surfaced, cited as `[id]`, and every
//! URL they visited, so graders can check that claims trace back to tool evidence.

use std::fmt::Write;

use super::evidence::{self, Product};
use super::keywords::keywords;
use crate::wire::ChatRequest;

/// Marks a user message carrying the critique of the report.
const REPORT_FEEDBACK: &str = "Feedback on your report:";

pub fn write(request: &ChatRequest) -> String {
    let query = request.research_query();
    let terms = keywords(&query);
    let results = request.tool_texts();
    let products = evidence::products(&results);
    // Only pages the agent opened are sources; a search hit was never read.
    let sources = evidence::visited_pages(&results);
    // A report sent back is rewritten with its evidence spelled out; the critique
    // itself is never quoted (a report answers the shopper, not its critic).
    let revised = !request.user_lines_after(REPORT_FEEDBACK).is_empty();
    let top = top_pick(&products);

    let mut out = String::new();
    let title = if query.is_empty() { "your request" } else { query.as_str() };
    let _ = writeln!(out, "# Research report: {title}\n");
    match Shape::of(&query) {
        Shape::TableFirst if !products.is_empty() => {
            table(&mut out, &products, top, revised);
            summary(&mut out, &terms, &products, top);
        }
        Shape::Bullets => {
            summary(&mut out, &terms, &products, top);
            bullets(&mut out, &products, top, revised);
        }
        Shape::Numbered | Shape::TableFirst => {
            summary(&mut out, &terms, &products, top);
            numbered(&mut out, &products, top, revised);
        }
    }

    out.push_str("\n## Sources\n");
    if sources.is_empty() {
        out.push_str("- No web pages were read for this report.\n");
    }
    for url in &sources {
        let _ = writeln!(out, "- {url}");
    }
    out
}

/// How a report is laid out, chosen by the query so a batch has several shapes
/// (a model's reports vary; a dataset of one layout teaches a template).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Summary, numbered recommendations, sources.
    Numbered,
    /// Summary, bulleted picks with a reason each, sources.
    Bullets,
    /// A comparison table, then the summary, then sources.
    TableFirst,
}

impl Shape {
    fn of(query: &str) -> Self {
        match (super::seed(query) >> 16) % 3 {
            0 => Self::Numbered,
            1 => Self::Bullets,
            _ => Self::TableFirst,
        }
    }
}

fn summary(out: &mut String, terms: &str, products: &[Product], top: Option<&Product>) {
    out.push_str("## Summary\n");
    match top {
        Some(best) => {
            let _ = writeln!(
                out,
                "I searched for \"{terms}\" and compared {} products from the catalog. My top pick \
                 is {}, because it has the best rating among the candidates.",
                products.len(),
                describe(best)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "I searched for \"{terms}\" but the tools returned no catalog products, so I \
                 cannot recommend a specific product yet."
            );
        }
    }
}

fn numbered(out: &mut String, products: &[Product], top: Option<&Product>, revised: bool) {
    out.push_str("\n## Recommendations\n");
    if products.is_empty() {
        out.push_str("- No catalog products were found; a broader search is needed.\n");
    }
    for (n, product) in products.iter().enumerate() {
        let marker = if top.is_some_and(|t| t.id == product.id) { " (top pick)" } else { "" };
        let _ = writeln!(out, "{}. {}{marker}", n + 1, describe(product));
        if revised {
            let _ = writeln!(out, "   - Evidence: catalog listing [{}]{}", product.id, facts(product));
        }
    }
}

fn bullets(out: &mut String, products: &[Product], top: Option<&Product>, revised: bool) {
    out.push_str("\n## Picks\n");
    if products.is_empty() {
        out.push_str("- Nothing in the catalog matched; a broader search is needed.\n");
    }
    for product in products {
        let why = if top.is_some_and(|t| t.id == product.id) { "the best rated of the candidates" } else { "a candidate worth comparing" };
        let _ = writeln!(out, "- {}: {why}.", describe(product));
        if revised {
            let _ = writeln!(out, "  - Catalog listing [{}]{}.", product.id, facts(product));
        }
    }
}

fn table(out: &mut String, products: &[Product], top: Option<&Product>, revised: bool) {
    out.push_str("## Comparison\n\n| Product | Price | Rating | Pick |\n|---|---|---|---|\n");
    for product in products {
        let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "n/a".into());
        let pick = if top.is_some_and(|t| t.id == product.id) { "top pick" } else { "" };
        let title = product.title.as_deref().unwrap_or("(untitled product)");
        let _ = writeln!(out, "| [{}] {title} | {} | {} | {pick} |", product.id, cell(&product.price), cell(&product.rating));
    }
    if revised {
        out.push_str("\nEvery row is the catalog listing of the product it names, with its listed price and rating.\n");
    }
    out.push('\n');
}

/// `[id] title — price: p, rating: r`, omitting what the tools did not say.
fn describe(product: &Product) -> String {
    let title = product.title.as_deref().unwrap_or("(untitled product)");
    let facts = fact_list(product);
    if facts.is_empty() { format!("[{}] {title}", product.id) } else { format!("[{}] {title} — {}", product.id, facts.join(", ")) }
}

/// ` (price: p, rating: r)` or empty.
fn facts(product: &Product) -> String {
    let facts = fact_list(product);
    if facts.is_empty() { String::new() } else { format!(" ({})", facts.join(", ")) }
}

fn fact_list(product: &Product) -> Vec<String> {
    [("price", &product.price), ("rating", &product.rating)]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}: {v}")))
        .collect()
}

/// Highest rating wins; ties and unrated products go to the earlier one.
fn top_pick(products: &[Product]) -> Option<&Product> {
    let rating = |p: &Product| p.rating.as_deref().and_then(|r| r.parse::<f64>().ok());
    products
        .iter()
        .enumerate()
        .max_by(|(i, a), (j, b)| {
            let (ra, rb) = (rating(a).unwrap_or(f64::MIN), rating(b).unwrap_or(f64::MIN));
            ra.total_cmp(&rb).then(j.cmp(i))
        })
        .map(|(_, p)| p)
}
