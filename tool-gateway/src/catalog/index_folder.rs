//! A catalog index on disk: the catalogs converted to our generic JSONL
//! (`catalog.jsonl`), the tantivy index over them (`index/`) and a manifest
//! of what went in (`manifest.json`). `productresearch catalog index` writes
//! one; the gateway serves it with `--catalog <dir>` without re-indexing.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::formats::CatalogFormat;
use super::index::ProductIndex;
use super::{Catalog, FieldMapping, LoadReport};
use crate::error::{Error, io_reason};

pub const CATALOG_FILE: &str = "catalog.jsonl";
pub const INDEX_DIR: &str = "index";
pub const MANIFEST_FILE: &str = "manifest.json";

/// What one source file contributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSummary {
    pub path: PathBuf,
    pub format: CatalogFormat,
    pub accepted: usize,
    pub rejected: usize,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub products: usize,
    pub sources: Vec<SourceSummary>,
}

/// Whether `dir` holds an index written by [`build`].
pub fn is_index_dir(dir: &Path) -> bool {
    dir.join(MANIFEST_FILE).is_file() && dir.join(CATALOG_FILE).is_file() && dir.join(INDEX_DIR).is_dir()
}

/// Loads every source (format detected unless given; every file read through
/// `mapping` when one is given), writes `out` and returns
/// the manifest with every rejected line. `out` is created; an existing index
/// in it is replaced, anything else in it is refused.
pub fn build(
    sources: &[(PathBuf, Option<CatalogFormat>)],
    mapping: Option<&FieldMapping>,
    out: &Path,
    progress: &mut dyn FnMut(&Path, u64),
) -> Result<(Manifest, LoadReport), Error> {
    let out_error = |e: std::io::Error| Error::Catalog { path: out.display().to_string(), reason: io_reason(&e) };
    if out.exists() && fs::read_dir(out).map_err(out_error)?.next().is_some() && !is_index_dir(out) {
        return Err(Error::Catalog {
            path: out.display().to_string(),
            reason: "exists and is not a catalog index; choose an empty folder".into(),
        });
    }
    let mut catalog = Catalog::default();
    let mut report = LoadReport::default();
    let mut summaries = Vec::new();
    for (path, format) in sources {
        let (format, one) = match mapping {
            Some(mapping) => catalog.add_mapped_file(path, mapping, &mut |bytes| progress(path, bytes))?,
            None => catalog.add_file(path, *format, &mut |bytes| progress(path, bytes))?,
        };
        summaries.push(SourceSummary { path: path.clone(), format, accepted: one.accepted, rejected: one.rejected.len() });
        report.accepted += one.accepted;
        report.rejected.extend(one.rejected);
    }
    // An empty catalog is a failed build: it must not replace a good index.
    if catalog.is_empty() {
        let first = report.rejected.first().map(|r| format!("; first: {r}")).unwrap_or_default();
        return Err(Error::Catalog {
            path: out.display().to_string(),
            reason: format!(
                "no product could be loaded ({} lines rejected{first}); nothing was written, an existing index is left as it was",
                report.rejected.len()
            ),
        });
    }
    // Written beside the final folder, then swapped in: a failed build never
    // leaves a half-written index where a good one was.
    let staging = sibling(out, "building");
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(out_error)?;
    }
    let written = write_index(&catalog, summaries, &staging);
    let manifest = match written {
        Ok(manifest) => manifest,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    swap_in(&staging, out).map_err(out_error)?;
    Ok((manifest, report))
}

/// `catalog.jsonl`, the tantivy index and the manifest, in `dir`.
fn write_index(catalog: &Catalog, sources: Vec<SourceSummary>, dir: &Path) -> Result<Manifest, Error> {
    let dir_error = |e: std::io::Error| Error::Catalog { path: dir.display().to_string(), reason: io_reason(&e) };
    fs::create_dir_all(dir.join(INDEX_DIR)).map_err(dir_error)?;
    let mut writer = BufWriter::new(File::create(dir.join(CATALOG_FILE)).map_err(dir_error)?);
    for p in catalog.products() {
        serde_json::to_writer(&mut writer, p).map_err(|e| dir_error(e.into()))?;
        writer.write_all(b"\n").map_err(dir_error)?;
    }
    writer.flush().map_err(dir_error)?;
    ProductIndex::build_in(catalog, Some(&dir.join(INDEX_DIR)))?;
    let manifest = Manifest { products: catalog.len(), sources };
    fs::write(dir.join(MANIFEST_FILE), serde_json::to_vec_pretty(&manifest).expect("serializable")).map_err(dir_error)?;
    Ok(manifest)
}

/// Replaces `out` with the finished `staging` by two renames, so at every
/// moment one complete index is on disk under one of the names: the old one
/// is moved aside first and put back if the new one cannot take its place.
fn swap_in(staging: &Path, out: &Path) -> std::io::Result<()> {
    if !out.exists() {
        return fs::rename(staging, out);
    }
    let previous = sibling(out, "previous");
    if previous.exists() {
        fs::remove_dir_all(&previous)?;
    }
    fs::rename(out, &previous)?;
    if let Err(e) = fs::rename(staging, out) {
        fs::rename(&previous, out)?;
        return Err(e);
    }
    fs::remove_dir_all(&previous)
}

/// `<parent>/.<name>.<suffix>`: beside `out` (same file system, so renames
/// are atomic) and hidden.
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "catalog-index".into());
    out.with_file_name(format!(".{name}.{suffix}"))
}

/// The catalog and index [`build`] wrote to `dir`.
pub fn open(dir: &Path) -> Result<(Catalog, ProductIndex), Error> {
    let (catalog, report) = Catalog::load(&[dir.join(CATALOG_FILE)])?;
    if let Some(first) = report.rejected.first() {
        return Err(Error::Catalog { path: dir.display().to_string(), reason: format!("index catalog is damaged ({first}); rebuild it") });
    }
    let index = ProductIndex::open(&dir.join(INDEX_DIR), &catalog)?;
    Ok((catalog, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_failed_build_leaves_the_previous_index_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let good = write(tmp.path(), "good.jsonl", "{\"product_id\": \"a\", \"title\": \"Espresso grinder\"}\n");
        let bad = write(tmp.path(), "bad.jsonl", "{\"product_id\": 1, \"title\": \"x\"}\nnot json\n");
        let out = tmp.path().join("index");
        build(&[(good, None)], None, &out, &mut |_, _| {}).unwrap();
        let before = fs::read(out.join(CATALOG_FILE)).unwrap();

        let err = build(&[(bad, None)], None, &out, &mut |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("no product could be loaded (2 lines rejected; first: ") && err.contains("left as it was"), "{err}");
        assert_eq!(fs::read(out.join(CATALOG_FILE)).unwrap(), before);
        let (catalog, _) = open(&out).unwrap();
        assert_eq!(catalog.len(), 1);
        // Nothing left beside it.
        let names: Vec<String> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }

    #[test]
    fn a_good_build_replaces_the_previous_index() {
        let tmp = tempfile::tempdir().unwrap();
        let one = write(tmp.path(), "one.jsonl", "{\"product_id\": \"a\", \"title\": \"A\"}\n");
        let two = write(tmp.path(), "two.jsonl", "{\"product_id\": \"b\", \"title\": \"B\"}\n{\"product_id\": \"c\", \"title\": \"C\"}\n");
        let out = tmp.path().join("index");
        build(&[(one, None)], None, &out, &mut |_, _| {}).unwrap();
        let (manifest, _) = build(&[(two, None)], None, &out, &mut |_, _| {}).unwrap();
        assert_eq!(manifest.products, 2);
        assert_eq!(open(&out).unwrap().0.len(), 2);
        assert!(!sibling(&out, "previous").exists() && !sibling(&out, "building").exists());
    }
}
