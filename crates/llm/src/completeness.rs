//! Whether a model's text answer is whole, or was cut off or garbled on the
//! way (a length limit, a dropped connection, a proxy that truncated the
//! body): such a text must never become a report. [`is_cut_off`] looks at the
//! text alone; the client adds the endpoint's `finish_reason == "length"`.
//!
//! The checks are structural, so they hold for any language of prose:
//! code fences must close, a markdown table's rows must be whole, a text that
//! is JSON must parse, and the last line must not stop inside a sentence (on
//! a comma, an open bracket, a connecting word, or mid-prose without a full
//! stop). List items, headings and table rows may end without a full stop.

/// Why a text looks cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutOff {
    /// A ``` code fence was opened and never closed.
    UnclosedFence,
    /// A markdown table row is incomplete (fewer cells than the header, or no
    /// closing `|` where the header has one).
    BrokenTableRow {
        /// The row, as written.
        row: String,
    },
    /// The text is (or starts as) JSON but does not parse.
    BrokenJson,
    /// The last line stops mid-sentence.
    MidSentence {
        /// The last words.
        tail: String,
    },
}

impl std::fmt::Display for CutOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnclosedFence => write!(f, "a code block is opened with ``` and never closed"),
            Self::BrokenTableRow { row } => write!(f, "the table row {row:?} is incomplete"),
            Self::BrokenJson => write!(f, "the JSON in the answer is incomplete"),
            Self::MidSentence { tail } => write!(f, "the answer stops mid-sentence (\"…{tail}\")"),
        }
    }
}

/// Words a sentence does not end on.
const CONNECTIVES: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "nor", "of", "to", "with", "for", "from", "in", "on", "at", "by", "than", "as", "is", "are",
    "was", "were", "be", "that", "which", "its", "their", "your", "our", "this", "these", "if", "because", "while", "whereas", "into",
];

/// Characters a whole text does not end on.
const DANGLING: &[char] = &[',', ';', ':', '(', '[', '{', '-', '–', '—', '&', '/', '+', '=', '<', '|', '\\'];

/// Words of prose after which a missing full stop means a cut, not a style.
const PROSE_WORDS: usize = 6;

/// `Some(why)` when `text` looks cut off or garbled, `None` when it looks
/// whole. An empty text is not judged here (callers reject it on their own).
pub fn is_cut_off(text: &str) -> Option<CutOff> {
    let text = text.trim_end();
    if text.trim().is_empty() {
        return None;
    }
    if text.lines().filter(|l| l.trim_start().starts_with("```")).count() % 2 == 1 {
        return Some(CutOff::UnclosedFence);
    }
    let start = text.trim_start();
    if (start.starts_with('{') || start.starts_with('[')) && serde_json::from_str::<serde_json::Value>(start).is_err() {
        // A text that opens as JSON and is more than JSON is prose that
        // happens to start with a bracket; only a truncated value is flagged.
        let closes = start.ends_with('}') || start.ends_with(']');
        if !closes {
            return Some(CutOff::BrokenJson);
        }
    }
    if let Some(row) = broken_table_row(text) {
        return Some(CutOff::BrokenTableRow { row });
    }
    mid_sentence(text)
}

/// The cells of a table row: the parts between unescaped `|`.
fn cells(row: &str) -> usize {
    let mut count = 0;
    let mut escaped = false;
    for c in row.trim().chars() {
        match c {
            '\\' => escaped = !escaped,
            '|' if !escaped => count += 1,
            _ => escaped = false,
        }
    }
    count
}

/// The first incomplete row of a markdown table whose header has outer pipes.
fn broken_table_row(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut i = 0;
    while i + 1 < lines.len() {
        let (header, separator) = (lines[i], lines[i + 1]);
        let is_separator = separator.contains("---") && separator.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
        if !(header.starts_with('|') && header.ends_with('|') && header.len() > 1 && is_separator) {
            i += 1;
            continue;
        }
        let pipes = cells(header);
        let mut j = i + 2;
        while j < lines.len() && lines[j].starts_with('|') {
            let row = lines[j];
            if !row.ends_with('|') || row.len() < 2 || cells(row) < pipes {
                return Some(row.to_string());
            }
            j += 1;
        }
        i = j;
    }
    None
}

fn mid_sentence(text: &str) -> Option<CutOff> {
    let last = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    let bare = last.trim_end_matches(['*', '_', '`', '~', '"', '\'', '”', '’']);
    let tail = || bare.chars().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<String>();
    if last.starts_with('|') || last.starts_with('#') || last.starts_with("```") || bare.is_empty() {
        return None;
    }
    let end = bare.chars().last()?;
    // A link ends where it ends ("…/guide/"): its characters say nothing.
    if bare.split_whitespace().last().is_some_and(|w| w.contains("://") || w.starts_with("www.")) {
        return None;
    }
    if DANGLING.contains(&end) {
        return Some(CutOff::MidSentence { tail: tail() });
    }
    // An opening bracket on the last line that never closes.
    let opens = bare.matches(['(', '[']).count();
    let closes = bare.matches([')', ']']).count();
    if opens > closes {
        return Some(CutOff::MidSentence { tail: tail() });
    }
    let word = bare.rsplit(|c: char| !c.is_alphanumeric() && c != '\'').next().unwrap_or_default().to_lowercase();
    if CONNECTIVES.contains(&word.as_str()) {
        return Some(CutOff::MidSentence { tail: tail() });
    }
    let list_item = last.starts_with(['-', '*', '+', '>'])
        || last.split_once(['.', ')']).is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let prose = !list_item && bare.split_whitespace().count() >= PROSE_WORDS;
    if prose && end.is_alphanumeric() {
        return Some(CutOff::MidSentence { tail: tail() });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHOLE: &str = "# Report\n\n## Summary\nThe Sony WH-1000XM5 is the best pick for you.\n\n\
        | Product | Price |\n|---|---|\n| Sony WH-1000XM5 | 299 |\n| Bose QC45 (128GB Storage) | 279 |\n\n\
        ## Sources\n- https://example.com/sony\n- Catalog listing [B0123] (price: 299, rating: 4.6)\n";

    #[test]
    fn whole_reports_pass() {
        assert_eq!(is_cut_off(WHOLE), None);
        assert_eq!(is_cut_off("Short answer"), None);
        assert_eq!(is_cut_off("```json\n{\"a\": 1}\n```\nDone."), None);
        assert_eq!(is_cut_off(r#"{"plan": "1. search"}"#), None);
        assert_eq!(is_cut_off("1. [B01] Sony — price: 299, rating: 4.6\n2. [B02] Bose"), None);
        assert_eq!(is_cut_off("Happy listening!"), None);
        assert_eq!(is_cut_off("**Top pick:** Sony WH-1000XM5"), None);
        assert_eq!(is_cut_off("## Sources\n- https://example.com/travel-backpack-guide/"), None);
        assert_eq!(is_cut_off("See the guide at www.example.com/guides/a-b-"), None);
    }

    #[test]
    fn the_reported_mid_table_cut_is_caught() {
        let cut = "## Comparison\n| Phone | Storage | Price |\n|---|---|---|\n| Pixel 8 (128GB Storage) | 500";
        assert!(matches!(is_cut_off(cut), Some(CutOff::BrokenTableRow { row }) if row.ends_with("| 500")));
        let short = "| a | b |\n|---|---|\n| 1 |";
        assert!(matches!(is_cut_off(short), Some(CutOff::BrokenTableRow { .. })));
    }

    #[test]
    fn fences_json_and_sentences_cut_short_are_caught() {
        assert_eq!(is_cut_off("Here:\n```python\nprint(1)\n"), Some(CutOff::UnclosedFence));
        assert_eq!(is_cut_off("{\"plan\": \"1. sea"), Some(CutOff::BrokenJson));
        for cut in [
            "The best choice overall is the Sony WH-1000XM5, because",
            "It costs 299 dollars and has a battery life of",
            "The Sony is lighter and has a longer battery life and a more comfortable",
            "Prices (as of today",
            "- Battery life: 30 hours,",
        ] {
            assert!(matches!(is_cut_off(cut), Some(CutOff::MidSentence { .. })), "{cut}");
        }
    }

    #[test]
    fn every_prefix_of_a_prose_report_cut_mid_word_is_caught() {
        let prose = "The Sony WH-1000XM5 has the best noise cancelling of the three and a thirty hour battery, \
            so it is my pick for a frequent flyer who wants comfort.";
        // Cut inside a word after the sixth word: always flagged.
        let cut_points: Vec<usize> = prose.match_indices(' ').map(|(i, _)| i).skip(6).collect();
        for i in cut_points {
            let cut = &prose[..i - 1];
            assert!(is_cut_off(cut).is_some(), "{cut:?}");
        }
    }
}
