//! amazon.in reviewers linked to the amazon.in catalog
//! (shared/data/amazon_in_products_reviews): `user_reviewed_products.jsonl`
//! lists the products a reviewer reviewed; `products.jsonl` next to it holds
//! the products with their reviews, whose reviewer ids, names, titles and
//! texts line up by position.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use productresearch_record::{HistoryEvent, HistoryEventKind, UserHistory};
use serde::Deserialize;

use crate::Loaded;

/// The catalog file expected next to the reviewer file.
pub const CATALOG_FILE: &str = "products.jsonl";

pub(crate) fn catalog_path(reviewers: &Path) -> PathBuf {
    reviewers.parent().unwrap_or(Path::new(".")).join(CATALOG_FILE)
}

#[derive(Deserialize)]
struct ReviewerRow {
    user_id: String,
    product_ids: Vec<String>,
}

#[derive(Deserialize)]
struct ProductRow {
    product_id: String,
    product_name: String,
    #[serde(default)]
    category_path: Vec<String>,
    discounted_price_inr: Option<f64>,
    #[serde(default)]
    review_user_ids: Vec<String>,
    #[serde(default)]
    raw: Raw,
}

#[derive(Deserialize, Default)]
struct Raw {
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    review_title: String,
    #[serde(default)]
    review_content: String,
}

/// The products by id; lines that do not parse are skipped (the catalog is
/// the tool gateway's to validate; here it only annotates histories).
pub(crate) struct Catalog {
    products: HashMap<String, ProductRow>,
}

impl Catalog {
    pub(crate) fn read(_path: &Path, text: &str) -> Catalog {
        let products = text.lines().filter_map(|l| serde_json::from_str::<ProductRow>(l).ok()).map(|p| (p.product_id.clone(), p)).collect();
        Catalog { products }
    }
}

pub(crate) fn load<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    catalog: &Catalog,
    out: &mut dyn FnMut(usize, Result<Loaded, String>),
) {
    for (n, line) in lines {
        let result = serde_json::from_str::<ReviewerRow>(line).map_err(|e| e.to_string()).and_then(|row| convert(row, catalog));
        out(n, result);
    }
}

fn convert(row: ReviewerRow, catalog: &Catalog) -> Result<Loaded, String> {
    let mut events = Vec::new();
    let mut names = Vec::new();
    let mut missing = Vec::new();
    for id in &row.product_ids {
        let Some(p) = catalog.products.get(id) else {
            missing.push(id.as_str());
            continue;
        };
        let at = p.review_user_ids.iter().position(|u| *u == row.user_id);
        let n = p.review_user_ids.len();
        let pick = |joined: &str| at.and_then(|i| split_reviews(joined, n).map(|parts| parts[i].trim().to_string()));
        if let Some(name) = at.and_then(|i| split_names(&p.raw.user_name, n).map(|v| v[i].trim().to_string())).filter(|s| !s.is_empty()) {
            names.push(name);
        }
        let text = match (pick(&p.raw.review_title), pick(&p.raw.review_content)) {
            (Some(t), Some(c)) => format!("{t}. {c}"),
            (Some(t), None) => t,
            (None, Some(c)) => c,
            (None, None) => String::new(),
        };
        events.push(HistoryEvent {
            kind: HistoryEventKind::Review,
            timestamp: None,
            product_id: p.product_id.clone(),
            title: p.product_name.clone(),
            price: p.discounted_price_inr,
            rating: None,
            text,
            category: p.category_path.join(" > "),
        });
    }
    if events.is_empty() {
        return Err(format!("none of the products {} is in {CATALOG_FILE}", missing.join(", ")));
    }
    names.sort();
    names.dedup();
    Ok(Loaded { history: UserHistory { user_id: row.user_id, events }, heldout: None, user_names: names, source: "amazon_in" })
}

/// The source joins the reviews of a product with bare commas; a comma followed
/// by a non-space starts the next review (measured in the data README: right
/// for 1,296 of 1,351 titles, 1,006 of 1,351 contents). When the count does
/// not match the reviewer list the split is unreliable and nothing is taken.
fn split_reviews(joined: &str, expected: usize) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = joined.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b',' && bytes.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
            parts.push(&joined[start..i]);
            start = i + 1;
        }
    }
    parts.push(&joined[start..]);
    (parts.len() == expected).then_some(parts)
}

/// Names rarely contain commas: a plain split, used only when the count matches.
fn split_names(joined: &str, expected: usize) -> Option<Vec<&str>> {
    let parts: Vec<&str> = joined.split(',').collect();
    (parts.len() == expected).then_some(parts)
}
