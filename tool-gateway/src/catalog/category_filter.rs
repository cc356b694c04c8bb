//! `product_search`'s category filter: a case-insensitive substring of the
//! category path, so one filter covers many exact paths ("home" covers every
//! "Home & Kitchen > …" path and "Smart Home"), and often a large share of the
//! catalog.
//!
//! Matching those paths' documents on every search (a term-set query: an FST
//! built per query, then every matching posting list read into a bitset) was
//! the slowest part of a filtered search, several milliseconds at 100k
//! products. The index never changes once built, so the documents of each
//! filter are computed once and kept, a bitset per segment, for the filters
//! asked most recently; an agent batch asks the same few categories again and
//! again.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::DocId;
use tantivy::index::SegmentId;
use tantivy::query::{BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocSet, Searcher, SegmentReader, TERMINATED, Term};

use crate::error::Error;
use crate::full_text::exact_key;

/// How many distinct filters are kept. A bitset costs max_doc / 8 bytes per
/// segment: 12.5 kB at 100k products, so 256 filters stay under 4 MB.
const KEPT_FILTERS: u64 = 256;

/// The category filters of one index.
pub(crate) struct CategoryFilter {
    field: Field,
    /// Distinct lowercased, folded category paths of the catalog.
    categories: Vec<String>,
    kept: moka::sync::Cache<String, Arc<CategoryDocs>>,
}

impl CategoryFilter {
    pub(crate) fn new(field: Field, categories: Vec<String>) -> CategoryFilter {
        CategoryFilter { field, categories, kept: moka::sync::Cache::new(KEPT_FILTERS) }
    }

    /// The documents whose category path contains `category` (folded like
    /// the index), or `None` when no path does.
    pub(crate) fn docs(&self, searcher: &Searcher, category: &str) -> Result<Option<CategoryQuery>, Error> {
        let needle = exact_key(category);
        if let Some(docs) = self.kept.get(&needle) {
            return Ok(docs.matches_any().then_some(CategoryQuery(docs)));
        }
        let paths: Vec<Term> =
            self.categories.iter().filter(|c| c.contains(&needle)).map(|c| Term::from_field_text(self.field, c)).collect();
        let docs = Arc::new(CategoryDocs::collect(searcher, &paths)?);
        self.kept.insert(needle, docs.clone());
        Ok(docs.matches_any().then_some(CategoryQuery(docs)))
    }
}

/// The documents of one filter, per segment.
#[derive(Debug)]
pub(crate) struct CategoryDocs {
    by_segment: HashMap<SegmentId, BitSet>,
    any: bool,
}

impl CategoryDocs {
    fn collect(searcher: &Searcher, paths: &[Term]) -> Result<CategoryDocs, Error> {
        let mut by_segment = HashMap::new();
        let mut any = false;
        for reader in searcher.segment_readers() {
            let mut docs = BitSet::with_max_value(reader.max_doc());
            if let Some(path) = paths.first() {
                let postings = reader.inverted_index(path.field())?;
                for path in paths {
                    let Some(mut posting) = postings.read_postings(path, IndexRecordOption::Basic).map_err(tantivy::TantivyError::from)?
                    else {
                        continue;
                    };
                    let mut doc = posting.doc();
                    while doc != TERMINATED {
                        docs.insert(doc);
                        any = true;
                        doc = posting.advance();
                    }
                }
            }
            by_segment.insert(reader.segment_id(), docs);
        }
        Ok(CategoryDocs { by_segment, any })
    }

    fn matches_any(&self) -> bool {
        self.any
    }
}

/// A filter clause over kept documents (scores 0: the score stays BM25).
#[derive(Debug, Clone)]
pub(crate) struct CategoryQuery(Arc<CategoryDocs>);

impl Query for CategoryQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for CategoryQuery {
    fn scorer(&self, reader: &SegmentReader, _boost: f32) -> tantivy::Result<Box<dyn Scorer>> {
        // A segment the filter was not computed for cannot occur (the index is
        // never written after it is opened); it would match nothing.
        let docs = self.0.by_segment.get(&reader.segment_id()).cloned().unwrap_or_else(|| BitSet::with_max_value(reader.max_doc()));
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), 0.0)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let matched = self.0.by_segment.get(&reader.segment_id()).is_some_and(|docs| docs.contains(doc));
        if !matched {
            return Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} is not in the category filter")));
        }
        Ok(Explanation::new("category filter", 0.0))
    }
}
