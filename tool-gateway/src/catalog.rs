//! The product catalog: the generic JSONL product schema (see `CATALOG.md`) and
//! its loader, which also reads the marketplace formats of [`crate::formats`].
//!
//! Catalogs come from many sources (converted marketplace dumps, hand-written demo
//! data), so one bad line must never cost the rest of a file: it is rejected with
//! its file, line number and reason, and loading goes on.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::formats::{self, CatalogFormat};

/// One product of the catalog.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Product {
    /// Unique within all loaded catalogs.
    pub product_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// A path such as `Electronics > Audio > Headphones`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// ISO 4217 code, e.g. `USD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Average rating, 0 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Bullet points ("about this item"), in the seller's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    #[serde(default, skip_serializing_if = "Specs::is_empty")]
    pub specs: Specs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<Review>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

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
        product.checked()
    }

    /// The product if it passes [`Self::check`], else the reason it does not.
    pub(crate) fn checked(self) -> Result<Product, String> {
        self.check()?;
        Ok(self)
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

    fn log_overflow(&self, path: &Path) {
        if self.rejected.len() > MAX_WARNINGS_PER_FILE {
            tracing::warn!("catalog {}: {} more lines skipped", path.display(), self.rejected.len() - MAX_WARNINGS_PER_FILE);
        }
    }
}

/// Counts the bytes read through it, for progress reports.
struct CountingReader<R> {
    inner: R,
    bytes: Rc<Cell<u64>>,
}

impl<R: io::Read> io::Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.set(self.bytes.get() + n as u64);
        Ok(n)
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
    /// Loads every file in order, each in the format [`CatalogFormat::detect`]
    /// finds. A missing or unreadable file is an error; bad lines are not (they
    /// are in the report and logged as warnings).
    pub fn load(paths: &[PathBuf]) -> Result<(Catalog, LoadReport), Error> {
        let mut catalog = Catalog::default();
        let mut total = LoadReport::default();
        for path in paths {
            let (format, report) = catalog.add_file(path, None, &mut |_| {})?;
            tracing::info!(catalog = %path.display(), %format, accepted = report.accepted, rejected = report.rejected.len(), "catalog loaded");
            total.absorb(report);
        }
        Ok((catalog, total))
    }

    /// Adds one catalog file in `format` (detected when `None`); `progress`
    /// gets the bytes read so far, for progress bars.
    pub fn add_file(
        &mut self,
        path: &Path,
        format: Option<CatalogFormat>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(CatalogFormat, LoadReport), Error> {
        let file = File::open(path).map_err(|e| Error::catalog(path, &e))?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::Catalog { path: path.display().to_string(), reason: "is a directory".into() });
        }
        let mut reader = BufReader::new(file);
        let format = match format {
            Some(format) => format,
            None => {
                let head = reader.fill_buf().map_err(|e| Error::catalog(path, &e))?;
                let first_line = String::from_utf8_lossy(head.split(|&b| b == b'\n').find(|l| !l.trim_ascii().is_empty()).unwrap_or(&[]));
                CatalogFormat::detect(&path.to_string_lossy(), first_line.trim())
            }
        };
        let report = match format {
            CatalogFormat::Flipkart => self.add_csv(path, reader, progress),
            _ => self.add_lines(path, format, reader, progress),
        }
        .map_err(|e| Error::catalog(path, &e))?;
        Ok((format, report))
    }

    /// Adds the products of one generic JSONL source; `path` only names it in reasons.
    pub fn add_jsonl(&mut self, path: &Path, reader: impl BufRead) -> io::Result<LoadReport> {
        self.add_lines(path, CatalogFormat::Generic, reader, &mut |_| {})
    }

    fn add_lines(
        &mut self,
        path: &Path,
        format: CatalogFormat,
        mut reader: impl BufRead,
        progress: &mut dyn FnMut(u64),
    ) -> io::Result<LoadReport> {
        let mut report = LoadReport::default();
        let mut buf = Vec::new();
        let mut line_no = 0;
        let mut bytes = 0u64;
        loop {
            buf.clear();
            // Bytes, not `lines()`: one line of bad UTF-8 must be rejected alone.
            let n = reader.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            line_no += 1;
            let outcome = match std::str::from_utf8(&buf) {
                Err(_) => Err("line is not valid UTF-8".to_string()),
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => format.product_from_line(text.trim()),
            };
            self.record(path, line_no, outcome, &mut report);
            progress(bytes);
        }
        report.log_overflow(path);
        Ok(report)
    }

    fn add_csv(&mut self, path: &Path, reader: impl io::Read, progress: &mut dyn FnMut(u64)) -> io::Result<LoadReport> {
        let mut report = LoadReport::default();
        let bytes = Rc::new(Cell::new(0u64));
        let counted = CountingReader { inner: reader, bytes: Rc::clone(&bytes) };
        formats::read_flipkart_csv(path, counted, |line, outcome| {
            self.record(path, line, outcome, &mut report);
            progress(bytes.get());
        })?;
        report.log_overflow(path);
        Ok(report)
    }

    /// Inserts a converted product, or notes why its line was rejected.
    fn record(&mut self, path: &Path, line: usize, outcome: Result<Product, String>, report: &mut LoadReport) {
        match outcome.and_then(|p| self.insert(p, path, line)) {
            Ok(()) => report.accepted += 1,
            Err(reason) => {
                let rejected = RejectedLine { path: path.to_path_buf(), line, reason };
                if report.rejected.len() < MAX_WARNINGS_PER_FILE {
                    tracing::warn!("catalog line skipped: {rejected}");
                }
                report.rejected.push(rejected);
            }
        }
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
