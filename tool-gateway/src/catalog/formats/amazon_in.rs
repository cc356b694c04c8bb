//! amazon.in "Amazon Sales Dataset" JSONL (`shared/data/amazon_in_products_reviews`).
//!
//! Prices are INR. The listing has no brand field; amazon.in titles start with
//! the brand ("Portronics Konnect L ..."), so the first word of the title is
//! taken as the brand. The 8 reviews are stored as comma-joined strings whose
//! texts contain commas too: they are split on a comma directly followed by a
//! non-space character, and only trusted when that gives one part per review
//! id; otherwise the reviews are kept as one combined text.

use serde_json::Value;

use super::{json_object, opt_f64, required_str};
use crate::catalog::product::{Product, Review, Specs};

pub fn product(line: &str) -> Result<Product, String> {
    let map = json_object(line)?;
    let product_id = required_str(&map, "product_id")?;
    let title = required_str(&map, "product_name")?;
    let strings = |key: &str| -> Vec<String> {
        map.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    };
    let category_path = strings("category_path");
    let raw = map.get("raw").and_then(Value::as_object);
    let raw_str = |key: &str| raw.and_then(|r| r.get(key)).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());

    let mut specs = Vec::new();
    if let Some(list) = raw_str("actual_price") {
        specs.push(("List price".to_string(), list.to_string()));
    }
    if let Some(discount) = raw_str("discount_percentage") {
        specs.push(("Discount".to_string(), discount.to_string()));
    }
    let review_count = map.get("review_ids").and_then(Value::as_array).map_or(0, Vec::len);
    let reviews = reviews(raw_str("review_title").unwrap_or(""), raw_str("review_content").unwrap_or(""), review_count);
    Product {
        brand: title
            .split_whitespace()
            .next()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
            .filter(|b| !b.is_empty()),
        category: (!category_path.is_empty()).then(|| category_path.join(" > ")),
        price: opt_f64(&map, "discounted_price_inr").or_else(|| opt_f64(&map, "actual_price_inr")),
        currency: Some("INR".into()),
        rating: opt_f64(&map, "rating").filter(|r| (0.0..=5.0).contains(r)),
        rating_count: opt_f64(&map, "rating_count").filter(|c| *c >= 0.0).map(|c| c as u64),
        description: None,
        features: strings("about_product"),
        specs: Specs(specs),
        reviews,
        url: raw_str("product_link").map(String::from),
        product_id,
        title,
    }
    .checked()
}

/// Splits the comma-joined review titles and texts (see the module comment).
fn reviews(titles: &str, contents: &str, count: usize) -> Vec<Review> {
    if contents.is_empty() {
        return Vec::new();
    }
    let texts = split_joined(contents);
    if count > 0 && texts.len() == count {
        let titles = split_joined(titles);
        let titles_line_up = titles.len() == count;
        return texts
            .into_iter()
            .enumerate()
            .filter(|(_, text)| !text.is_empty())
            .map(|(i, text)| Review { rating: None, title: titles_line_up.then(|| titles[i].clone()).filter(|t| !t.is_empty()), text })
            .collect();
    }
    vec![Review { rating: None, title: None, text: contents.to_string() }]
}

/// Parts of a string joined with bare commas: a comma followed by a space is
/// punctuation inside a text, one followed by anything else is a separator.
/// Empty parts are kept so the count can be checked against the review ids.
fn split_joined(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b',' && bytes.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
            parts.push(text[start..i].trim().to_string());
            start = i + 1;
        }
    }
    parts.push(text[start..].trim().to_string());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_a_listing_with_reviews() {
        let line = r#"{"product_id": "B08CF3D7QR", "product_name": "Portronics Konnect L Cable", "category_path": ["Computers&Accessories", "Cables"], "discounted_price_inr": 154.0, "actual_price_inr": 339.0, "rating": 4.3, "rating_count": 13391.0, "about_product": ["[CHARGE] fast", " "], "review_ids": ["R1", "R2"], "raw": {"actual_price": "₹339", "discount_percentage": "55%", "review_title": "Good, really,Bad", "review_content": "Fine cable, works.,Broke in a week", "product_link": "https://www.amazon.in/dp/B08CF3D7QR"}}"#;
        let p = product(line).unwrap();
        assert_eq!((p.product_id.as_str(), p.brand.as_deref(), p.currency.as_deref()), ("B08CF3D7QR", Some("Portronics"), Some("INR")));
        assert_eq!(p.category.as_deref(), Some("Computers&Accessories > Cables"));
        assert_eq!((p.price, p.rating, p.rating_count), (Some(154.0), Some(4.3), Some(13391)));
        assert_eq!(p.features, vec!["[CHARGE] fast"]);
        assert_eq!(p.specs.0[0], ("List price".into(), "₹339".into()));
        assert_eq!(p.reviews.len(), 2);
        assert_eq!(p.reviews[0].title.as_deref(), Some("Good, really"));
        assert_eq!(p.reviews[1].text, "Broke in a week");
    }

    #[test]
    fn reviews_that_do_not_line_up_stay_one_text() {
        let r = reviews("a,b", "x,y,z", 2);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].text, "x,y,z");
        assert!(product(r#"{"product_id": "B1"}"#).unwrap_err().contains("missing field `product_name`"));
    }
}
