//! Amazon Reviews 2023 user-category rows: four reviews of history and the
//! held-out next review (shared/data/amazon_reviews_2023_user_histories).

use productresearch_record::{HistoryEvent, HistoryEventKind, UserHistory};
use serde::Deserialize;

use crate::{HeldOut, Loaded};

#[derive(Deserialize)]
struct Row {
    user_id: String,
    #[serde(default)]
    category: String,
    history: Vec<Review>,
    heldout: Option<Review>,
}

#[derive(Deserialize)]
struct Review {
    #[serde(default)]
    parent_asin: String,
    rating: Option<f32>,
    timestamp_ms: Option<i64>,
    #[serde(default)]
    review_title: String,
    #[serde(default)]
    review_excerpt: String,
    #[serde(default)]
    review_full: String,
    product: Option<Product>,
}

#[derive(Deserialize)]
struct Product {
    #[serde(default)]
    title: Option<String>,
    price: Option<f64>,
    #[serde(default)]
    main_category: Option<String>,
}

pub(crate) fn load<'a>(lines: impl Iterator<Item = (usize, &'a str)>, out: &mut dyn FnMut(usize, Result<Loaded, String>)) {
    for (n, line) in lines {
        out(n, serde_json::from_str::<Row>(line).map_err(|e| e.to_string()).and_then(convert));
    }
}

fn convert(row: Row) -> Result<Loaded, String> {
    let fallback_category = row.category.replace('_', " ");
    let events = row.history.into_iter().map(|r| event(r, &fallback_category)).collect::<Vec<_>>();
    let heldout = row.heldout.map(|r| {
        let p = r.product.unwrap_or(Product { title: None, price: None, main_category: None });
        HeldOut {
            product_id: r.parent_asin,
            title: p.title.unwrap_or_default(),
            category: p.main_category.filter(|c| !c.is_empty()).unwrap_or_else(|| fallback_category.clone()),
            price: p.price,
            rating: r.rating,
        }
    });
    if heldout.is_none() {
        return Err("row has no heldout review".into());
    }
    Ok(Loaded { history: UserHistory { user_id: row.user_id, events }, heldout, user_names: Vec::new(), source: "amazon2023" })
}

fn event(r: Review, fallback_category: &str) -> HistoryEvent {
    let p = r.product.unwrap_or(Product { title: None, price: None, main_category: None });
    // The excerpt is the source's high-signal selection (at most 900 chars);
    // the full text only when there is no excerpt.
    let body = if r.review_excerpt.trim().is_empty() { r.review_full } else { r.review_excerpt };
    let body = body.replace("<br />", " ").replace("<br/>", " ").replace("<br>", " ");
    let text = match (r.review_title.trim(), body.trim()) {
        ("", b) => b.to_string(),
        (t, "") => t.to_string(),
        (t, b) => format!("{t}. {b}"),
    };
    HistoryEvent {
        kind: HistoryEventKind::Review,
        timestamp: r
            .timestamp_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        product_id: r.parent_asin,
        title: p.title.unwrap_or_default(),
        price: p.price,
        rating: r.rating,
        text,
        category: p.main_category.filter(|c| !c.is_empty()).unwrap_or_else(|| fallback_category.to_string()),
    }
}
