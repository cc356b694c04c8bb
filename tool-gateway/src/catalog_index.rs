//! A catalog index on disk: the catalogs converted to our generic JSONL
//! (`catalog.jsonl`), the tantivy index over them (`index/`) and a manifest
//! of what went in (`manifest.json`). `productresearch catalog index` writes
//! one; the gateway serves it with `--catalog <dir>` without re-indexing.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, LoadReport};
use crate::error::{Error, io_reason};
use crate::formats::CatalogFormat;
use crate::index::ProductIndex;

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

/// Loads every source (format detected unless given), writes `out` and returns
/// the manifest with every rejected line. `out` is created; an existing index
/// in it is replaced, anything else in it is refused.
pub fn build(
    sources: &[(PathBuf, Option<CatalogFormat>)],
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
        let (format, one) = catalog.add_file(path, *format, &mut |bytes| progress(path, bytes))?;
        summaries.push(SourceSummary { path: path.clone(), format, accepted: one.accepted, rejected: one.rejected.len() });
        report.accepted += one.accepted;
        report.rejected.extend(one.rejected);
    }
    // Written beside the final folder, then swapped in: a failed build never
    // leaves a half-written index where a good one was.
    let staging = out.with_extension("building");
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(out_error)?;
    }
    fs::create_dir_all(staging.join(INDEX_DIR)).map_err(out_error)?;
    let mut writer = BufWriter::new(File::create(staging.join(CATALOG_FILE)).map_err(out_error)?);
    for p in catalog.products() {
        serde_json::to_writer(&mut writer, p).map_err(|e| out_error(e.into()))?;
        writer.write_all(b"\n").map_err(out_error)?;
    }
    writer.flush().map_err(out_error)?;
    ProductIndex::build_in(&catalog, Some(&staging.join(INDEX_DIR)))?;
    let manifest = Manifest { products: catalog.len(), sources: summaries };
    fs::write(staging.join(MANIFEST_FILE), serde_json::to_vec_pretty(&manifest).expect("serializable")).map_err(out_error)?;
    if out.exists() {
        fs::remove_dir_all(out).map_err(out_error)?;
    }
    fs::rename(&staging, out).map_err(out_error)?;
    Ok((manifest, report))
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
