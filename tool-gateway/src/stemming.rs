//! English stemming with a memo of the words already stemmed.
//!
//! Every `web_search` builds its snippets by running the whole text of each
//! hit through the analyzer, and the Snowball stemmer was most of that work
//! (about 4 % of the mesh's CPU in the zero-latency bench). A corpus reuses a
//! small vocabulary, so each worker thread keeps the stems it has computed:
//! a hash lookup instead of a stemmer run. The output is the stemmer's own,
//! so indexes, queries and snippets agree whether a word was memoised or not.

use std::cell::RefCell;
use std::collections::HashMap;

use frostem::{Algorithm, Stemmer};
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Words kept per thread; past it the memo starts over. The words a batch's
/// searches and snippets meet are well inside it, and at ~50 bytes a word
/// this is under 1 MB a thread (two workers, and the index build's thread
/// while it lives).
const MAX_WORDS: usize = 16_384;

thread_local! {
    static STEMS: RefCell<HashMap<Box<str>, Box<str>, foldhash::fast::RandomState>> = RefCell::default();
}

/// The English Snowball stemmer as a token filter, memoised per thread.
/// Tokens must be lowercased first, as for tantivy's `Stemmer`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemoStemmer;

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub(crate) struct MemoStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStemmerStream { tail: self.inner.token_stream(text), stemmer: None }
    }
}

pub(crate) struct MemoStemmerStream<T> {
    tail: T,
    /// Made on the first miss: a stream whose words are all memoised needs none.
    stemmer: Option<Stemmer>,
}

impl<T: TokenStream> TokenStream for MemoStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let stemmer = &mut self.stemmer;
        STEMS.with(|stems| {
            let mut stems = stems.borrow_mut();
            if let Some(stem) = stems.get(token.text.as_str()) {
                token.text.clear();
                token.text.push_str(stem);
                return;
            }
            let stem: Box<str> = stemmer.get_or_insert_with(|| Stemmer::new(Algorithm::English)).stem(&token.text).into();
            if stems.len() >= MAX_WORDS {
                stems.clear();
            }
            let word = std::mem::replace(&mut token.text, stem.to_string());
            stems.insert(word.into_boxed_str(), stem);
        });
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::{Language, LowerCaser, SimpleTokenizer, Stemmer as TantivyStemmer, TextAnalyzer};

    use super::*;

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize)> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.offset_from, t.offset_to));
        }
        out
    }

    #[test]
    fn stems_as_tantivys_stemmer_does_whether_memoised_or_not() {
        let text = "Running shoes for runners: the lightest running shoes ran generously, \
                    dying batteries, skies, headphones' noise-cancelling, happily ever after";
        let mut plain =
            TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).filter(TantivyStemmer::new(Language::English)).build();
        let mut memo = TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).filter(MemoStemmer).build();
        let expected = tokens(&mut plain, text);
        assert!(expected.iter().any(|(w, ..)| w == "run"), "the stemmer ran: {expected:?}");
        // Cold (every word a miss), then warm (every word memoised).
        assert_eq!(tokens(&mut memo, text), expected);
        assert_eq!(tokens(&mut memo, text), expected);
        assert!(STEMS.with(|s| s.borrow().contains_key("running")));
    }

    #[test]
    fn starts_over_when_full() {
        let mut memo = TextAnalyzer::builder(SimpleTokenizer::default()).filter(MemoStemmer).build();
        let words: String = (0..MAX_WORDS + 10).map(|i| format!("w{i}x ")).collect();
        let _ = tokens(&mut memo, &words);
        assert!(STEMS.with(|s| s.borrow().len()) <= MAX_WORDS);
        assert_eq!(tokens(&mut memo, "shoes"), vec![("shoe".to_string(), 0, 5)]);
    }
}
