//! The web corpus's full-text index (tantivy, BM25) behind `web_search`:
//! titles and extracted text, with snippets.

use tantivy::collector::TopDocs;
use tantivy::schema::{Field, STORED, Schema, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, Searcher, TantivyDocument};

use super::corpus::WebCorpus;
use crate::error::Error;
use crate::full_text::{TermMatch, WRITER_MEMORY_BYTES, WRITER_THREADS, reader, register_tokenizer, text_options, text_query};

/// One `web_search` hit: the page's position in the corpus and a snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct PageHit {
    pub page: usize,
    pub score: f32,
    pub snippet: String,
}

/// BM25 over the web corpus's titles and extracted text.
pub struct PageIndex {
    /// Searchers over the index (the reader keeps the index itself).
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
        Ok(PageIndex { reader, page, title, body })
    }

    pub fn search(&self, corpus: &WebCorpus, text: &str, limit: usize) -> Result<Vec<PageHit>, Error> {
        let searcher: Searcher = self.reader.searcher();
        let Some(query) = text_query(&searcher, &[(self.title, 2.0), (self.body, 1.0)], text, TermMatch::Most)? else {
            return Ok(Vec::new());
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> (WebCorpus, PageIndex) {
        let (corpus, rejected) = WebCorpus::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/web")).unwrap();
        assert!(rejected.is_empty());
        let index = PageIndex::build(&corpus).unwrap();
        (corpus, index)
    }

    fn urls(corpus: &WebCorpus, index: &PageIndex, query: &str) -> Vec<String> {
        index.search(corpus, query, 5).unwrap().into_iter().map(|h| corpus.pages()[h.page].url.clone()).collect()
    }

    #[test]
    fn a_page_must_hold_most_of_the_query_not_one_common_word() {
        let (corpus, index) = demo();
        let found = urls(&corpus, &index, "best noise cancelling headphones for flights");
        assert_eq!(found.first().map(String::as_str), Some("https://reviews.example/best-noise-cancelling-headphones-2026"), "{found:?}");
        // Another catalog's query shares "best" and "under" with the espresso
        // guide, and nothing else with any page: no result, not the guide.
        assert_eq!(urls(&corpus, &index, "best smartphone under 15000 with good camera"), Vec::<String>::new());
        assert_eq!(urls(&corpus, &index, "headphones smartphone"), Vec::<String>::new());
        // One term is enough when it is the whole query.
        let espresso = urls(&corpus, &index, "espresso");
        assert!(espresso.len() >= 2 && espresso.iter().all(|u| u.contains("espresso")), "{espresso:?}");
        // Half of an odd count, rounded up, is enough (2 of 3).
        assert!(!urls(&corpus, &index, "espresso grinder smartphone").is_empty());
    }

    #[test]
    fn term_match_counts_terms() {
        let most = |n| TermMatch::Most.required(n);
        assert_eq!((1..=6).map(most).collect::<Vec<_>>(), vec![1, 2, 2, 2, 3, 3]);
        assert_eq!(TermMatch::Any.required(6), 1);
    }
}
