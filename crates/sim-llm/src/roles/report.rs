//! The research report: every product id the tools surfaced, cited as `[id]`, and every
//! URL they visited, so graders can check that claims trace back to tool evidence.

use std::fmt::Write;

use super::evidence::{self, Product};
use super::keywords::keywords;
use crate::wire::ChatRequest;

/// Marks a user message carrying the supervisor's critique of the report.
const REPORT_FEEDBACK: &str = "Feedback on your report:";

pub fn write(request: &ChatRequest) -> String {
    let query = request.research_query();
    let terms = keywords(&query);
    let results = request.tool_texts();
    let products = evidence::products(&results);
    let sources = evidence::urls(&results);
    let critique = request.user_lines_after(REPORT_FEEDBACK);
    let revised = !critique.is_empty();
    let top = top_pick(&products);

    let mut out = String::new();
    let title = if query.is_empty() { "your request" } else { query.as_str() };
    let _ = writeln!(out, "# Research report: {title}\n\n## Summary");
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

    out.push_str("\n## Sources\n");
    if sources.is_empty() {
        out.push_str("- No web sources were consulted.\n");
    }
    for url in &sources {
        let _ = writeln!(out, "- {url}");
    }

    if revised {
        out.push_str("\n## Revisions\n");
        for point in &critique {
            let _ = writeln!(out, "- Addressed: {point}");
        }
        out.push_str(
            "- Every recommendation now cites its product id with the price and rating the \
             catalog gives for it.\n",
        );
    }
    out
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
