//! The web corpus's full-text index (tantivy, BM25) behind `web_search`:
//! titles and extracted text, with snippets.

use tantivy::collector::TopDocs;
use tantivy::schema::{Field, STORED, Schema, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, Searcher, TantivyDocument};

use super::corpus::WebCorpus;
use crate::error::Error;
use crate::full_text::{WRITER_MEMORY_BYTES, WRITER_THREADS, reader, register_tokenizer, text_options, text_query};

/// One `web_search` hit: the page's position in the corpus and a snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct PageHit {
    pub page: usize,
    pub score: f32,
    pub snippet: String,
}

/// BM25 over the web corpus's titles and extracted text.
pub struct PageIndex {
    index: Index,
    reader: IndexReader,
    page: Field,
    title: Field,
    body: Field,
}

/// Snippet length, in characters.
const SNIPPET_CHARS: usize = 200;

impl PageIndex {
    pub fn build(corpus: &WebCorpus) -> Result<PageIndex, Error> {
        let mut schema = Schema::builder();
        let page = schema.add_u64_field("page", STORED);
        let title = schema.add_text_field("title", text_options());
        let body = schema.add_text_field("body", text_options());
        let index = Index::create_in_ram(schema.build());
        register_tokenizer(&index);
        let mut writer: IndexWriter = index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BYTES)?;
        for (i, p) in corpus.pages().iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(page, i as u64);
            doc.add_text(title, &p.title);
            doc.add_text(body, &p.text);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = reader(&index)?;
        Ok(PageIndex { index, reader, page, title, body })
    }

    pub fn search(&self, corpus: &WebCorpus, text: &str, limit: usize) -> Result<Vec<PageHit>, Error> {
        let Some(query) = text_query(&self.index, &[(self.title, 2.0), (self.body, 1.0)], text)? else {
            return Ok(Vec::new());
        };
        let searcher: Searcher = self.reader.searcher();
        let top = searcher.search(&*query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut snippets = SnippetGenerator::create(&searcher, &*query, self.body)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(page) = doc.get_first(self.page).and_then(|v| v.as_u64()).map(|p| p as usize) else {
                continue;
            };
            let Some(stored) = corpus.pages().get(page) else {
                continue;
            };
            let fragment = snippets.snippet(&stored.text);
            // A title-only match has no fragment: the page's opening stands in.
            let snippet =
                if fragment.is_empty() { stored.text.chars().take(SNIPPET_CHARS).collect() } else { fragment.fragment().to_string() };
            // One line, without the heading and list markers of the page text.
            let snippet = snippet.split_whitespace().filter(|w| !w.chars().all(|c| c == '#' || c == '-')).collect::<Vec<_>>().join(" ");
            hits.push(PageHit { page, score, snippet });
        }
        Ok(hits)
    }
}
