//! Catalog file formats: our generic JSONL schema (see docs/catalogs.md) and
//! converters for the real marketplace dumps the project tests with. Every
//! format turns one record (a JSONL line or a CSV row) into a [`Product`] or a
//! one-line reason, so a bad record never costs the rest of its file.

mod amazon_in;
mod flipkart;
mod lazada;
pub mod python_literal;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::field_mapping::FieldMapping;
use super::product::Product;

/// How a catalog file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogFormat {
    /// Our JSONL schema (docs/catalogs.md).
    Generic,
    /// amazon.in "Amazon Sales Dataset" JSONL (`product_name`, `category_path`,
    /// `about_product`, `raw.review_content` ...).
    AmazonIn,
    /// Flipkart PromptCloud CSV (`pid`, `product_category_tree`,
    /// `product_specifications` ...).
    Flipkart,
    /// ShoppingBench Lazada product JSONL (`shop_id`, `short_description`,
    /// `specification`, `sold_count` ...).
    Lazada,
    /// JSONL in another schema, read through a [`FieldMapping`] (never
    /// detected: the mapping is given).
    Mapped,
}

impl CatalogFormat {
    /// The formats that can be detected or forced by name.
    pub const ALL: [CatalogFormat; 4] = [Self::Generic, Self::AmazonIn, Self::Flipkart, Self::Lazada];

    pub fn name(self) -> &'static str {
        match self {
            Self::Generic => "generic",
            Self::AmazonIn => "amazon_in",
            Self::Flipkart => "flipkart",
            Self::Lazada => "lazada",
            Self::Mapped => "mapped",
        }
    }

    /// Guesses the format from the file name and its first record: CSV files
    /// are Flipkart dumps; JSONL files are told apart by the fields only one
    /// format has.
    pub fn detect(file_name: &str, first_line: &str) -> CatalogFormat {
        if file_name.to_ascii_lowercase().ends_with(".csv") || first_line.starts_with("uniq_id,") {
            return Self::Flipkart;
        }
        let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(first_line) else {
            return Self::Generic;
        };
        let has = |k: &str| fields.contains_key(k);
        if has("product_name") && has("category_path") {
            Self::AmazonIn
        } else if has("shop_id") || has("short_description") || has("sold_count") {
            Self::Lazada
        } else {
            Self::Generic
        }
    }

    /// Converts one JSONL line of this format (not for [`Self::Flipkart`]).
    pub(crate) fn product_from_line(self, line: &str) -> Result<Product, String> {
        match self {
            Self::Generic => Product::from_json_line(line),
            Self::AmazonIn => amazon_in::product(line),
            Self::Lazada => lazada::product(line),
            Self::Flipkart => Err("flipkart catalogs are CSV, not JSONL".into()),
            Self::Mapped => Err("a mapped catalog is read through its field mapping".into()),
        }
    }
}

pub(crate) use flipkart::read as read_flipkart_csv;

impl fmt::Display for CatalogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CatalogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
            format!("unknown catalog format {s:?} (one of: {})", names.join(", "))
        })
    }
}

/// Why a file that should be in our generic schema is not, when its first
/// record shows it: a JSON object without `product_id` is another schema, and
/// rejecting each of its lines alone would say "missing field" thousands of
/// times without the fix. The reason shows the mapping to write.
pub(crate) fn foreign_schema(first_line: &str) -> Option<String> {
    let record = json_object(first_line).ok()?;
    if record.contains_key("product_id") {
        return None;
    }
    let fields: Vec<&str> = record.keys().map(String::as_str).take(12).collect();
    let mapping = FieldMapping::suggest(&record);
    Some(format!(
        "records are not in the generic catalog schema (no product_id; fields: {}); read them with a field mapping, \
         e.g. --map \"{mapping}\" (catalog_fields in the gateway config), see docs/catalogs.md",
        fields.join(", ")
    ))
}

/// A JSON line parsed as an object, or the reason it is rejected.
pub(crate) fn json_object(line: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("line is not a JSON object".into()),
        Err(e) => Err(format!("invalid JSON: {} (column {})", e.to_string().rsplit_once(" at line ").map_or("", |(h, _)| h), e.column())),
    }
}

/// A required non-blank string field.
pub(crate) fn required_str(map: &serde_json::Map<String, serde_json::Value>, key: &str) -> Result<String, String> {
    match map.get(key) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(serde_json::Value::String(_)) => Err(format!("{key} is empty")),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(format!("{key} must be a string")),
        None => Err(format!("missing field `{key}`")),
    }
}

/// An optional non-blank string field.
pub(crate) fn opt_str(map: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    map.get(key).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

/// An optional number field (numbers, or numeric strings).
pub(crate) fn opt_f64(map: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<f64> {
    match map.get(key)? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().replace(',', "").parse().ok(),
        _ => None,
    }
    .filter(|v: &f64| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        assert_eq!(CatalogFormat::detect("products.csv", "uniq_id,crawl_timestamp"), CatalogFormat::Flipkart);
        assert_eq!(
            CatalogFormat::detect("p.jsonl", r#"{"product_id":"B0","product_name":"x","category_path":[]}"#),
            CatalogFormat::AmazonIn
        );
        assert_eq!(CatalogFormat::detect("p.jsonl", r#"{"product_id":"1","shop_id":"2","title":"x"}"#), CatalogFormat::Lazada);
        assert_eq!(CatalogFormat::detect("p.jsonl", r#"{"product_id":"1","title":"x"}"#), CatalogFormat::Generic);
        assert_eq!(CatalogFormat::detect("p.jsonl", "not json"), CatalogFormat::Generic);
        assert_eq!("lazada".parse::<CatalogFormat>(), Ok(CatalogFormat::Lazada));
        assert!("csv".parse::<CatalogFormat>().unwrap_err().contains("one of: generic, amazon_in, flipkart, lazada"));
    }
}
