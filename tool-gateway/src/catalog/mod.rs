//! The product catalog: products ([`product`]), the file formats they come in
//! ([`formats`]), the loader that reads them into a [`Catalog`] (here), the
//! full-text index over them ([`index`]) and the prebuilt index folder
//! `productresearch catalog index` writes ([`index_folder`]).
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

mod category_filter;
pub mod field_mapping;
pub mod formats;
pub mod index;
pub mod index_folder;
pub mod product;

pub use field_mapping::FieldMapping;
pub use formats::CatalogFormat;
pub use product::{Product, Review, Specs};

use crate::error::Error;

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

/// A catalog file opened for reading, with its first non-blank line (for
/// format detection).
fn open(path: &Path) -> Result<(BufReader<File>, String), Error> {
    let file = File::open(path).map_err(|e| Error::catalog(path, &e))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::Catalog { path: path.display().to_string(), reason: "is a directory".into() });
    }
    let mut reader = BufReader::new(file);
    let head = reader.fill_buf().map_err(|e| Error::catalog(path, &e))?;
    let first_line =
        String::from_utf8_lossy(head.split(|&b| b == b'\n').find(|l| !l.trim_ascii().is_empty()).unwrap_or(&[])).trim().to_owned();
    Ok((reader, first_line))
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
        Self::load_mapped(paths, None)
    }

    /// Like [`Self::load`]; with a field mapping, every file is JSONL in the
    /// schema it describes.
    pub fn load_mapped(paths: &[PathBuf], mapping: Option<&FieldMapping>) -> Result<(Catalog, LoadReport), Error> {
        let mut catalog = Catalog::default();
        let mut total = LoadReport::default();
        for path in paths {
            let (format, report) = match mapping {
                Some(mapping) => catalog.add_mapped_file(path, mapping, &mut |_| {})?,
                None => catalog.add_file(path, None, &mut |_| {})?,
            };
            tracing::info!(catalog = %path.display(), %format, accepted = report.accepted, rejected = report.rejected.len(), "catalog loaded");
            total.absorb(report);
        }
        Ok((catalog, total))
    }

    /// Adds one catalog file in `format` (detected when `None`); `progress`
    /// gets the bytes read so far, for progress bars. A JSONL file whose
    /// records are in another schema (no `product_id`) is refused as a whole,
    /// with the field mapping that would read it.
    pub fn add_file(
        &mut self,
        path: &Path,
        format: Option<CatalogFormat>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(CatalogFormat, LoadReport), Error> {
        let (mut reader, first_line) = open(path)?;
        let format = format.unwrap_or_else(|| CatalogFormat::detect(&path.to_string_lossy(), &first_line));
        if format == CatalogFormat::Generic
            && let Some(reason) = formats::foreign_schema(&first_line)
        {
            return Err(Error::Catalog { path: path.display().to_string(), reason });
        }
        let report = match format {
            CatalogFormat::Flipkart => self.add_csv(path, reader, progress),
            _ => self.add_lines(path, &|line| format.product_from_line(line), &mut reader, progress),
        }
        .map_err(|e| Error::catalog(path, &e))?;
        Ok((format, report))
    }

    /// Adds one JSONL file in the schema `mapping` describes.
    pub fn add_mapped_file(
        &mut self,
        path: &Path,
        mapping: &FieldMapping,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(CatalogFormat, LoadReport), Error> {
        let (mut reader, _) = open(path)?;
        let report = self.add_lines(path, &|line| mapping.product(line), &mut reader, progress).map_err(|e| Error::catalog(path, &e))?;
        Ok((CatalogFormat::Mapped, report))
    }

    /// Adds the products of one generic JSONL source; `path` only names it in reasons.
    pub fn add_jsonl(&mut self, path: &Path, mut reader: impl BufRead) -> io::Result<LoadReport> {
        self.add_lines(path, &Product::from_json_line, &mut reader, &mut |_| {})
    }

    fn add_lines(
        &mut self,
        path: &Path,
        convert: &dyn Fn(&str) -> Result<Product, String>,
        reader: &mut dyn BufRead,
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
                Ok(text) => convert(text.trim()),
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
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(err.to_string(), format!("catalog demo/x.jsonl: no such file (relative to the working directory {})", cwd.display()));
        let absolute = Catalog::load(&[cwd.join("demo/x.jsonl")]).unwrap_err();
        assert!(absolute.to_string().ends_with("x.jsonl: no such file"), "{absolute}");
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
