//! Lowercase words and their runs (word n-grams), as 64-bit hashes.
//!
//! Several checks compare texts by runs of words: a report retelling a tool
//! result ([`crate::grounding`]), a plan or report echoing the instructions,
//! a decoder stuck in a loop (the supervisor's text checks). A page of 800
//! words has 800 runs. Kept as joined `String`s in SipHash sets they were a
//! tenth of the mesh's CPU at zero model latency (docs/benchmarks.md); here a
//! word is hashed once and a run is one `u64` combined from its words'.
//!
//! Two different runs share a hash with probability about 2⁻⁶⁴ (words are
//! hashed with a per-process random seed, so no text can be crafted to
//! collide); hashes compare only within one process.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::LazyLock;

/// The one word hasher of this process: every set of runs is comparable with
/// every other.
static WORD_HASHER: LazyLock<foldhash::quality::RandomState> = LazyLock::new(foldhash::quality::RandomState::default);

/// A set of run (or word) hashes.
pub type RunSet = HashSet<u64, foldhash::fast::RandomState>;

/// The words of a text, lowercase, each as its hash.
#[derive(Debug, Clone, Default)]
pub struct Words<'a> {
    text: &'a str,
    /// Each word's byte range in `text`.
    spans: Vec<(usize, usize)>,
    hashes: Vec<u64>,
}

impl<'a> Words<'a> {
    /// Runs of letters and digits; anything else separates words.
    pub fn alphanumeric(text: &'a str) -> Self {
        Self::split(text, |c| !c.is_alphanumeric())
    }

    /// Whitespace-separated words, punctuation kept.
    pub fn whitespace(text: &'a str) -> Self {
        Self::split(text, char::is_whitespace)
    }

    fn split(text: &'a str, separator: impl Fn(char) -> bool) -> Self {
        let mut words = Self { text, spans: Vec::new(), hashes: Vec::new() };
        let mut lower = String::new();
        let mut start = None;
        for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
            let ends = i == text.len() || separator(c);
            match (start, ends) {
                (None, false) => start = Some(i),
                (Some(s), true) => {
                    words.spans.push((s, i));
                    words.hashes.push(word_hash(&text[s..i], &mut lower));
                    start = None;
                }
                _ => {}
            }
        }
        words
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Each word's hash, in order.
    pub fn hashes(&self) -> &[u64] {
        &self.hashes
    }

    /// The hash of each run of `n` consecutive words, in order; none when
    /// `n` is 0 or the text has fewer words.
    pub fn runs(&self, n: usize) -> impl Iterator<Item = u64> + '_ {
        runs(&self.hashes, n)
    }

    /// Words `i..i + n`, lowercase and joined by a space: the run as
    /// feedback quotes it.
    pub fn run_text(&self, i: usize, n: usize) -> String {
        let words: Vec<String> = self.spans[i..i + n].iter().map(|&(s, e)| self.text[s..e].to_lowercase()).collect();
        words.join(" ")
    }
}

/// The hash of each run of `n` consecutive words of `hashes` (see
/// [`Words::runs`]).
pub fn runs(hashes: &[u64], n: usize) -> impl Iterator<Item = u64> + '_ {
    let windows = if n == 0 { [].windows(1) } else { hashes.windows(n) };
    windows.map(run_hash)
}

/// One word's hash, lowercase, as [`Words`] hashes its words.
pub fn hash_word(word: &str) -> u64 {
    word_hash(word, &mut String::new())
}

/// The hash of the run of words whose hashes are `words` (as
/// [`Words::runs`] yields it).
pub fn run_of(words: &[u64]) -> u64 {
    run_hash(words)
}

/// The hash of the empty word: no text has it, so it separates texts read
/// as one (a run or a title never spans two).
pub fn separator() -> u64 {
    WORD_HASHER.hash_one("")
}

/// One run's hash from its words': a polynomial over the word hashes, so
/// order counts ("battery life long" is not "long battery life").
fn run_hash(words: &[u64]) -> u64 {
    const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
    words.iter().fold(0, |h, &w| h.wrapping_mul(MULTIPLIER).wrapping_add(w))
}

/// `word`'s hash, lowercase; `lower` is scratch space, so a word costs no
/// allocation.
fn word_hash(word: &str, lower: &mut String) -> u64 {
    if word.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return WORD_HASHER.hash_one(word);
    }
    lower.clear();
    if word.is_ascii() {
        lower.push_str(word);
        lower.make_ascii_lowercase();
    } else {
        lower.extend(word.chars().flat_map(char::to_lowercase));
    }
    WORD_HASHER.hash_one(lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_compare_lowercase_and_runs_in_order() {
        let a = Words::alphanumeric("Long battery-life, LONG battery life!");
        let b = Words::alphanumeric("long battery life");
        assert_eq!(a.len(), 6);
        assert_eq!(a.hashes()[..3], b.hashes()[..]);
        assert_eq!(a.hashes()[0], a.hashes()[3]);
        let runs: Vec<u64> = a.runs(3).collect();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[0], b.runs(3).next().unwrap());
        assert_eq!(runs[0], runs[3]);
        // Order counts.
        assert_ne!(Words::alphanumeric("life battery long").runs(3).next(), b.runs(3).next());
        assert_eq!(a.run_text(3, 3), "long battery life");
        assert_eq!(a.runs(0).count(), 0);
        assert_eq!(b.runs(4).count(), 0);
    }

    #[test]
    fn whitespace_words_keep_punctuation_and_non_ascii_lowercases() {
        let w = Words::whitespace("  Größe: ÄRGER  größe:\n");
        assert_eq!(w.len(), 3);
        assert_eq!(w.hashes()[0], w.hashes()[2]);
        assert_eq!(w.run_text(0, 2), "größe: ärger");
        assert_ne!(Words::whitespace("größe").hashes(), Words::whitespace("größe:").hashes());
        assert!(Words::alphanumeric(" -- ").is_empty());
        assert!(!Words::alphanumeric("a").hashes().contains(&separator()));
    }
}
