//! What the two full-text indexes (tantivy, BM25) share: text analysis,
//! field options, free-text queries and writer limits. The product index is
//! in [`crate::catalog::index`], the page index in [`crate::web::page_index`].
//!
//! Both are built once at start-up (or read from a catalog index folder) and
//! never change, so an index only stores ids; the records themselves stay in
//! the catalog and corpus.

use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, Term};

use crate::error::Error;
use crate::stemming::MemoStemmer;

/// Name of the analyzer every text field uses (see [`register_tokenizer`]).
const TOKENIZER: &str = "en_text";

/// English text analysis: lowercase, fold accents to ASCII (so "cafe" finds
/// "Café" and "Nestle" "Nestlé"), drop stop words (so "for" or "the" neither
/// match nor inflate the hit count) and stem (so "headphone" finds
/// "headphones"; memoised per thread, see [`crate::stemming`]). An index
/// folder built before folding must be rebuilt for accented words to match.
pub(crate) fn register_tokenizer(index: &Index) {
    let stop_words = StopWordFilter::new(Language::English).unwrap_or_else(|| StopWordFilter::remove(Vec::new()));
    let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(stop_words)
        .filter(MemoStemmer)
        .build();
    index.tokenizers().register(TOKENIZER, analyzer);
}

/// `text` as an exact-match key: trimmed, lowercased and folded like the
/// text fields, so the brand filter "nestle" matches "Nestlé".
pub(crate) fn exact_key(text: &str) -> String {
    let mut analyzer = TextAnalyzer::builder(RawTokenizer::default()).filter(LowerCaser).filter(AsciiFoldingFilter).build();
    let mut stream = analyzer.token_stream(text.trim());
    let mut key = String::new();
    while let Some(token) = stream.next() {
        key.push_str(&token.text);
    }
    key
}

/// One indexing thread with tantivy's smallest budget: the data is small and the
/// machine is shared with the other services.
pub(crate) const WRITER_THREADS: usize = 1;
pub(crate) const WRITER_MEMORY_BYTES: usize = 15_000_000;

pub(crate) fn text_options() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// How many of a query's terms a hit must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TermMatch {
    /// Any one: the catalog's searches, where filters narrow the hits and a
    /// long query of wishes should still find the products that meet some.
    Any,
    /// Most of the terms that tell documents apart: half, rounded up, and
    /// both of two. A term in half the documents or more ("best", "good" in a
    /// corpus of buying guides) tells none apart, so it adds to the score
    /// but is not counted; a term in no document is counted, since a page
    /// without it does not cover the query. With any one term, "best
    /// smartphone under 15000" found the demo corpus's espresso guide and
    /// the agent read it as evidence.
    Most,
}

impl TermMatch {
    /// Terms required of `terms` counted ones.
    pub(crate) fn required(self, terms: usize) -> usize {
        match self {
            TermMatch::Any => 1,
            TermMatch::Most => terms.div_ceil(2).max(terms.min(2)),
        }
    }
}

/// A query text as BM25 term queries over `fields` (each with its boost),
/// with `matching` saying how many terms must match. `None` when the text has
/// no indexable term.
pub(crate) fn text_query(
    searcher: &Searcher,
    fields: &[(Field, f32)],
    text: &str,
    matching: TermMatch,
) -> Result<Option<Box<dyn Query>>, Error> {
    let mut analyzer = searcher.index().tokenizer_for_field(fields[0].0)?;
    let mut tokens: Vec<String> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        if !tokens.contains(&token.text) {
            tokens.push(token.text.clone());
        }
    }
    if tokens.is_empty() {
        return Ok(None);
    }
    // Built by hand rather than with the QueryParser: agent queries are free text
    // ("Sony WH-1000XM5 vs Bose: which is better?") and must never be read as
    // query syntax (field prefixes, `-` exclusions, quotes).
    let in_any_field = |token: &str| -> Vec<(Occur, Box<dyn Query>)> {
        fields
            .iter()
            .map(|&(field, boost)| {
                let term = TermQuery::new(Term::from_field_text(field, token), IndexRecordOption::WithFreqs);
                (Occur::Should, Box::new(BoostQuery::new(Box::new(term), boost)) as Box<dyn Query>)
            })
            .collect()
    };
    let any = |tokens: &[String]| -> Vec<(Occur, Box<dyn Query>)> { tokens.iter().flat_map(|t| in_any_field(t)).collect() };
    if matching == TermMatch::Any {
        return Ok(Some(Box::new(BooleanQuery::new(any(&tokens)))));
    }
    let documents = searcher.num_docs();
    let mut counted = Vec::new();
    let mut common = Vec::new();
    for token in tokens {
        let mut in_half = false;
        for &(field, _) in fields {
            in_half |= searcher.doc_freq(&Term::from_field_text(field, &token))? * 2 >= documents;
        }
        if in_half { common.push(token) } else { counted.push(token) }
    }
    if counted.is_empty() {
        return Ok(Some(Box::new(BooleanQuery::new(any(&common)))));
    }
    // One clause per counted term (in any field), so the minimum counts
    // terms, not term-field pairs; the common terms only score. The score is
    // the same sum of BM25 parts as with `Any`.
    let required = matching.required(counted.len());
    let per_term = counted.iter().map(|t| (Occur::Should, Box::new(BooleanQuery::new(in_any_field(t))) as Box<dyn Query>)).collect();
    let mut clauses = vec![(Occur::Must, Box::new(BooleanQuery::with_minimum_required_clauses(per_term, required)) as Box<dyn Query>)];
    clauses.extend(any(&common));
    Ok(Some(Box::new(BooleanQuery::new(clauses))))
}

/// A filter clause: it must match, and adds nothing to the score so the score
/// stays pure BM25.
pub(crate) fn filter(query: impl Query) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(query), 0.0)))
}

pub(crate) fn reader(index: &Index) -> Result<IndexReader, Error> {
    Ok(index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?)
}
