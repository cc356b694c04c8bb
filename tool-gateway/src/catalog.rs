//! The product catalog: the generic JSONL product schema (see `CATALOG.md`) and
//! its loader.
//!
//! Catalogs come from many sources (converted marketplace dumps, hand-written demo
//! data), so one bad line must never cost the rest of a file: it is rejected with
//! its file, line number and reason, and loading goes on.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// One product of the catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Product {
    /// Unique within all loaded catalogs.
    pub product_id: String,
    pub title: String,
    #[serde(default)]
    pub brand: Option<String>,
    /// A path such as `Electronics > Audio > Headphones`.
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub price: Option<f64>,
    /// ISO 4217 code, e.g. `USD`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Average rating, 0 to 5.
    #[serde(default)]
    pub rating: Option<f64>,
    #[serde(default)]
    pub rating_count: Option<u64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub specs: Specs,
    #[serde(default)]
    pub reviews: Vec<Review>,
    #[serde(default)]
    pub url: Option<String>,
}

/// One customer review of a product.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Review {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
}

/// Specification key/value pairs in the order the source gave them (sellers put
/// the important ones first, so the order is worth keeping). Numbers and booleans
/// are accepted and kept as their JSON text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Specs(pub Vec<(String, String)>);

impl Specs {
    /// `key: value` lines, for full-text indexing.
    pub fn to_text(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")
    }
}

impl<'de> Deserialize<'de> for Specs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecsVisitor;
        impl<'de> Visitor<'de> for SpecsVisitor {
            type Value = Specs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Specs, E> {
                Ok(Specs::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Specs, A::Error> {
                let mut pairs = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    let value = match value {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Number(n) => n.to_string(),
                        serde_json::Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(de::Error::custom(format!("spec \"{key}\" must be a string")));
                        }
                    };
                    pairs.push((key, value));
                }
                Ok(Specs(pairs))
            }
        }
        deserializer.deserialize_any(SpecsVisitor)
    }
}

impl Serialize for Specs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Product {
    /// Parses one JSONL line; the error is the reason the line is rejected.
    pub fn from_json_line(line: &str) -> Result<Product, String> {
        // serde would read a struct from a JSON array too; a product line is an object.
        if !line.trim_start().starts_with('{') {
            return Err("line is not a JSON object".into());
        }
        let product: Product = serde_json::from_str(line).map_err(|e| json_reason(&e))?;
        product.check()?;
        Ok(product)
    }

    /// Checks what serde cannot: non-blank ids and titles, plausible numbers.
    fn check(&self) -> Result<(), String> {
        if self.product_id.trim().is_empty() {
            return Err("product_id is empty".into());
        }
        if self.title.trim().is_empty() {
            return Err("title is empty".into());
        }
        if let Some(price) = self.price
            && !(price.is_finite() && price >= 0.0)
        {
            return Err(format!("price must be a non-negative number, got {price}"));
        }
        if let Some(rating) = self.rating
            && !(0.0..=5.0).contains(&rating)
        {
            return Err(format!("rating must be between 0 and 5, got {rating}"));
        }
        Ok(())
    }
}

/// serde_json's message without its position: every line is "line 1", and the
/// caller names the real line.
fn json_reason(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = match message.rsplit_once(" at line ") {
        Some((head, _)) => head.to_string(),
        None => message,
    };
    if e.is_syntax() || e.is_eof() { format!("invalid JSON: {message} (column {})", e.column()) } else { message }
}

/// A catalog line that was not loaded, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedLine {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for RejectedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
    }
}

/// What loading one catalog source did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Products added.
    pub accepted: usize,
    /// Lines skipped, in file order.
    pub rejected: Vec<RejectedLine>,
}

impl LoadReport {
    fn absorb(&mut self, other: LoadReport) {
        self.accepted += other.accepted;
        self.rejected.extend(other.rejected);
    }
}

/// Rejected lines logged per file; a file converted with the wrong tool would
/// otherwise flood the log with one warning per line.
const MAX_WARNINGS_PER_FILE: usize = 20;

/// All loaded products, in load order, by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    products: Vec<Product>,
    by_id: HashMap<String, usize>,
    /// Where each product came from, to name the first copy of a duplicate id.
    origins: Vec<(PathBuf, usize)>,
}

impl Catalog {
    /// Loads every file in order. A missing or unreadable file is an error; bad
    /// lines are not (they are in the report and logged as warnings).
    pub fn load(paths: &[PathBuf]) -> Result<(Catalog, LoadReport), Error> {
        let mut catalog = Catalog::default();
        let mut total = LoadReport::default();
        for path in paths {
            let file = File::open(path).map_err(|e| Error::catalog(path, &e))?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(Error::Catalog { path: path.display().to_string(), reason: "is a directory".into() });
            }
            let report = catalog.add_jsonl(path, BufReader::new(file)).map_err(|e| Error::catalog(path, &e))?;
            tracing::info!(catalog = %path.display(), accepted = report.accepted, rejected = report.rejected.len(), "catalog loaded");
            total.absorb(report);
        }
        Ok((catalog, total))
    }

    /// Adds the products of one JSONL source; `path` only names it in reasons.
    pub fn add_jsonl(&mut self, path: &Path, mut reader: impl BufRead) -> io::Result<LoadReport> {
        let mut report = LoadReport::default();
        let mut buf = Vec::new();
        let mut line_no = 0;
        loop {
            buf.clear();
            // Bytes, not `lines()`: one line of bad UTF-8 must be rejected alone.
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            line_no += 1;
            let outcome = match std::str::from_utf8(&buf) {
                Err(_) => Err("line is not valid UTF-8".to_string()),
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => Product::from_json_line(text.trim()).and_then(|p| self.insert(p, path, line_no)),
            };
            match outcome {
                Ok(()) => report.accepted += 1,
                Err(reason) => {
                    let rejected = RejectedLine { path: path.to_path_buf(), line: line_no, reason };
                    if report.rejected.len() < MAX_WARNINGS_PER_FILE {
                        tracing::warn!("catalog line skipped: {rejected}");
                    }
                    report.rejected.push(rejected);
                }
            }
        }
        if report.rejected.len() > MAX_WARNINGS_PER_FILE {
            tracing::warn!("catalog {}: {} more lines skipped", path.display(), report.rejected.len() - MAX_WARNINGS_PER_FILE);
        }
        Ok(report)
    }

    fn insert(&mut self, product: Product, path: &Path, line: usize) -> Result<(), String> {
        if let Some(&first) = self.by_id.get(&product.product_id) {
            let (first_path, first_line) = &self.origins[first];
            return Err(format!("duplicate product_id \"{}\" (first at {}:{first_line})", product.product_id, first_path.display()));
        }
        self.by_id.insert(product.product_id.clone(), self.products.len());
        self.products.push(product);
        self.origins.push((path.to_path_buf(), line));
        Ok(())
    }

    pub fn get(&self, product_id: &str) -> Option<&Product> {
        self.by_id.get(product_id).map(|&i| &self.products[i])
    }

    /// Products in load order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> (Catalog, LoadReport) {
        let mut catalog = Catalog::default();
        let report = catalog.add_jsonl(Path::new("test.jsonl"), text.as_bytes()).unwrap();
        (catalog, report)
    }

    #[test]
    fn bad_lines_are_rejected_with_line_numbers_and_the_rest_is_kept() {
        let text = [
            r#"{"product_id": "a", "title": "Alpha", "price": 10.5, "specs": {"Weight": "250 g", "Battery (h)": 30}}"#,
            r#"{"product_id": "b", "title": "#,
            r#"{"product_id": "c"}"#,
            "",
            r#"{"product_id": "d", "title": "Delta", "rating": 7}"#,
            r#"{"product_id": "a", "title": "Alpha again"}"#,
            r#"{"product_id": "e", "title": "Echo", "reviews": [{"text": "fine", "rating": 4}]}"#,
            r#"["not", "an", "object"]"#,
            r#"{"product_id": "  ", "title": "Blank id"}"#,
        ]
        .join("\n");
        let (catalog, report) = load_str(&text);
        assert_eq!(report.accepted, 2);
        assert_eq!(catalog.len(), 2);
        let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 5, 6, 8, 9]);
        let reasons: Vec<String> = report.rejected.iter().map(|r| r.to_string()).collect();
        assert!(reasons[0].starts_with("test.jsonl:2: invalid JSON"), "{reasons:?}");
        assert!(reasons[1].contains("missing field `title`"), "{reasons:?}");
        assert!(reasons[2].contains("rating must be between 0 and 5"), "{reasons:?}");
        assert!(reasons[3].contains("duplicate product_id \"a\" (first at test.jsonl:1)"), "{reasons:?}");
        assert!(reasons[4].contains("line is not a JSON object"), "{reasons:?}");
        assert!(reasons[5].contains("product_id is empty"), "{reasons:?}");

        let a = catalog.get("a").unwrap();
        assert_eq!(a.specs.0, vec![("Weight".into(), "250 g".into()), ("Battery (h)".into(), "30".into())]);
        assert_eq!(catalog.get("e").unwrap().reviews[0].rating, Some(4.0));
        assert!(catalog.get("c").is_none());
    }

    #[test]
    fn invalid_utf8_rejects_only_its_line() {
        let mut bytes = br#"{"product_id": "a", "title": "A"}"#.to_vec();
        bytes.extend_from_slice(b"\n{\"product_id\": \"\xff\"}\n");
        bytes.extend_from_slice(br#"{"product_id": "b", "title": "B"}"#);
        let mut catalog = Catalog::default();
        let report = catalog.add_jsonl(Path::new("x"), &bytes[..]).unwrap();
        assert_eq!(report.accepted, 2);
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].line, 2);
    }

    #[test]
    fn nested_spec_values_are_rejected() {
        let (_, report) = load_str(r#"{"product_id": "a", "title": "A", "specs": {"size": {"w": 1}}}"#);
        assert!(report.rejected[0].reason.contains("spec \"size\" must be a string"), "{:?}", report.rejected);
    }

    #[test]
    fn missing_file_is_a_one_line_error() {
        let err = Catalog::load(&[PathBuf::from("demo/x.jsonl")]).unwrap_err();
        assert_eq!(err.to_string(), "catalog demo/x.jsonl: no such file");
    }

    #[test]
    fn the_demo_catalog_loads_cleanly() {
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/catalog.jsonl"));
        let (catalog, report) = Catalog::load(&[path]).unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert!(catalog.len() >= 40, "{} products", catalog.len());
        for prefix in ["hp-", "rs-", "cm-", "bp-"] {
            let n = catalog.products().iter().filter(|p| p.product_id.starts_with(prefix)).count();
            assert!(n >= 8, "{n} products with prefix {prefix}");
        }
        for p in catalog.products() {
            assert!(p.price.is_some() && p.rating.is_some() && p.category.is_some(), "{}", p.product_id);
            assert!((2..=4).contains(&p.reviews.len()), "{} has {} reviews", p.product_id, p.reviews.len());
        }
    }
}
