//! Flipkart PromptCloud CSV (`shared/data/flipkart_products_sample`).
//!
//! Prices are INR; `0.0` prices and ratings mean "not shown" and are dropped.
//! The category tree and the specifications are Python literals; the tree's
//! last element is usually the product itself and is left out of the path.
//! A truncated specification literal falls back to the `formatted_specifications`
//! column ("key: value, ...").

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::python_literal;
use crate::catalog::product::{Product, Specs};

/// One CSV record's fields, by column name.
struct Row<'a> {
    headers: &'a csv::StringRecord,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    fn get(&self, column: &str) -> Option<&str> {
        let i = self.headers.iter().position(|h| h == column)?;
        self.record.get(i).map(str::trim).filter(|s| !s.is_empty())
    }

    fn number(&self, column: &str) -> Option<f64> {
        self.get(column).and_then(|s| s.replace(',', "").parse::<f64>().ok()).filter(|v| v.is_finite() && *v > 0.0)
    }
}

/// Reads every row of a Flipkart CSV, calling `each` with the row's line number
/// and its product or rejection reason. An unreadable file is an error; a bad
/// row is not.
pub fn read(path: &Path, reader: impl Read, mut each: impl FnMut(usize, Result<Product, String>)) -> std::io::Result<()> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv.headers().map_err(std::io::Error::other)?.clone();
    for column in ["pid", "product_name"] {
        if !headers.iter().any(|h| h == column) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: no {column} column; not a flipkart catalog", path.display()),
            ));
        }
    }
    let mut record = csv::StringRecord::new();
    loop {
        // The line the record starts on, 1-based, header included.
        let line = csv.position().line() as usize;
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => each(line, product(&Row { headers: &headers, record: &record })),
            Err(e) if e.is_io_error() => return Err(std::io::Error::other(e)),
            Err(e) => each(line, Err(format!("bad csv record: {e}"))),
        }
    }
}

fn product(row: &Row<'_>) -> Result<Product, String> {
    let product_id = row.get("pid").ok_or("pid is empty")?.to_string();
    let title = row.get("product_name").ok_or("product_name is empty")?.to_string();
    let category = row.get("product_category_tree").map(|tree| category_path(tree, &title)).transpose()?.flatten();
    let specs = row.get("product_specifications").map(specifications).unwrap_or_default();
    let specs = if specs.is_empty() { row.get("formatted_specifications").map(formatted).unwrap_or_default() } else { specs };
    let mut specs = Specs(specs);
    if let Some(list) = row.number("retail_price") {
        specs.0.push(("List price".into(), format!("₹{list}")));
    }
    Product {
        brand: row.get("brand").map(String::from),
        category,
        price: row.number("discounted_price").or_else(|| row.number("retail_price")),
        currency: Some("INR".into()),
        rating: row.number("overall_rating").or_else(|| row.number("product_rating")).filter(|r| *r <= 5.0),
        rating_count: None,
        description: row.get("description").map(String::from),
        features: Vec::new(),
        specs,
        reviews: Vec::new(),
        url: row.get("product_url").map(String::from),
        product_id,
        title,
    }
    .checked()
}

/// `"['footwear', 'womens footwear', 'ballerinas', 'aw bellies']"` → `footwear >
/// womens footwear > ballerinas` (the product's own name at the end dropped).
fn category_path(tree: &str, title: &str) -> Result<Option<String>, String> {
    let value = python_literal::parse(tree).map_err(|e| format!("product_category_tree: {e}"))?;
    let mut parts: Vec<String> = match value {
        Value::Array(items) => items.iter().filter_map(Value::as_str).flat_map(|s| s.split(">>")).map(|s| s.trim().to_string()).collect(),
        _ => return Err("product_category_tree is not a list".into()),
    };
    parts.retain(|p| !p.is_empty());
    if parts.len() > 1 && parts.last().is_some_and(|last| last.starts_with(title) || title.starts_with(last.as_str())) {
        parts.pop();
    }
    Ok((!parts.is_empty()).then(|| parts.join(" > ")))
}

/// `[{'key': 'Color', 'value': 'Black'}, {'value': '1 T-Shirt'}]`; an entry
/// without a key is a note ("Details"). Empty when the literal does not parse.
fn specifications(literal: &str) -> Vec<(String, String)> {
    let items = match python_literal::parse(literal) {
        Ok(Value::Array(items)) => items,
        Ok(one @ Value::Object(_)) => vec![one],
        _ => return Vec::new(),
    };
    items
        .iter()
        .filter_map(|item| {
            let value = item.get("value")?.as_str()?.trim();
            let key = item.get("key").and_then(Value::as_str).map_or("Details", str::trim);
            (!value.is_empty()).then(|| (key.to_string(), value.to_string()))
        })
        .collect()
}

/// `"occasion: casual, ideal for: women"`.
fn formatted(text: &str) -> Vec<(String, String)> {
    text.split(", ").filter_map(|pair| pair.split_once(": ")).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_reports_bad_ones_by_line() {
        let csv = "uniq_id,product_url,product_name,product_category_tree,pid,retail_price,discounted_price,description,product_rating,overall_rating,brand,product_specifications,formatted_specifications\n\
            u1,http://www.flipkart.com/x,ladela bellies,\"['footwear', 'ballerinas', 'ladela bellies']\",SHOE1,1724.0,950.0,nice,5.0,5.0,ladela,\"[{'key': 'Color', 'value': 'Black'}, {'value': 'note'}]\",color: black\n\
            u2,,,\"['x']\",SHOE2,0.0,0.0,,0.0,0.0,,[],\n\
            u3,,dog shampoo,\"['pets', 'grooming']\",PET1,0.0,0.0,,No rating available,0.0,,\"[{'key': 'Type', 'value'\",\"type: spray, form: liquid\"\n";
        let mut seen = Vec::new();
        read(Path::new("f.csv"), csv.as_bytes(), |line, r| seen.push((line, r))).unwrap();
        assert_eq!(seen.len(), 3);
        let p = seen[0].1.as_ref().unwrap();
        assert_eq!((seen[0].0, p.product_id.as_str(), p.category.as_deref()), (2, "SHOE1", Some("footwear > ballerinas")));
        assert_eq!((p.price, p.rating, p.brand.as_deref()), (Some(950.0), Some(5.0), Some("ladela")));
        assert_eq!(
            p.specs.0,
            vec![("Color".into(), "Black".into()), ("Details".into(), "note".into()), ("List price".into(), "₹1724".into())]
        );
        assert_eq!((seen[1].0, seen[1].1.as_ref().unwrap_err().as_str()), (3, "product_name is empty"));
        let shampoo = seen[2].1.as_ref().unwrap();
        assert_eq!((shampoo.price, shampoo.rating), (None, None));
        assert_eq!(shampoo.specs.0, vec![("type".into(), "spray".into()), ("form".into(), "liquid".into())]);
    }

    #[test]
    fn a_csv_without_the_columns_is_refused() {
        let err = read(Path::new("x.csv"), "a,b\n1,2\n".as_bytes(), |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("no pid column"), "{err}");
    }
}
