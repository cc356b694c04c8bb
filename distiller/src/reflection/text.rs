//! Text helpers of the rewriting: sentences, words, case, whole-phrase
//! replacement. Everything here works on byte offsets of the original text,
//! so a rewrite never disturbs what it does not touch.

use std::ops::Range;
/// Byte ranges of the sentences of `text` (each trimmed, with its closing
/// punctuation). Lines, `.`, `!`, `?` and `;` end sentences; a `.` inside a
/// number or after a common abbreviation does not.
pub(super) fn sentences_of(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let close = |s: usize, e: usize, out: &mut Vec<Range<usize>>| {
        let seg = text[s..e].trim_end();
        if !seg.is_empty() {
            out.push(s..s + seg.len());
        }
    };
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let Some(s) = start else {
            if !c.is_whitespace() {
                start = Some(i);
            }
            continue;
        };
        let end = match c {
            '\n' => Some(i),
            '.' | '!' | '?' | ';' => {
                let then_space = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
                (then_space && !(c == '.' && ends_with_abbreviation(&text[s..i]))).then_some(i + c.len_utf8())
            }
            _ => None,
        };
        if let Some(e) = end {
            close(s, e, &mut out);
            start = None;
        }
    }
    if let Some(s) = start {
        close(s, text.len(), &mut out);
    }
    out
}

fn ends_with_abbreviation(before_dot: &str) -> bool {
    let last = before_dot.rsplit(char::is_whitespace).next().unwrap_or("").to_ascii_lowercase();
    matches!(last.as_str(), "e.g" | "i.e" | "etc" | "vs" | "approx" | "incl" | "rs" | "mr" | "dr" | "fig")
}

pub(super) fn tokenize(s: &str) -> Vec<(bool, String)> {
    let mut tokens: Vec<(bool, String)> = Vec::new();
    for c in s.chars() {
        let word_char = c.is_alphanumeric() || c == '\'' || c == '’' || c == '-';
        match tokens.last_mut() {
            Some((w, t)) if *w == word_char => t.push(c),
            _ => tokens.push((word_char, c.to_string())),
        }
    }
    tokens
}

/// `s` without the ASCII prefix `prefix` (case-insensitive), at a word boundary.
pub(super) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &s[prefix.len()..];
    let boundary = prefix.ends_with(|c: char| !c.is_alphanumeric()) || !rest.starts_with(|c: char| c.is_alphanumeric());
    boundary.then_some(rest)
}

/// Replaces every whole-word, case-insensitive occurrence of the lowercase ASCII
/// `pattern`, keeping a capital first letter.
pub(super) fn replace_phrase(text: &str, pattern: &str, replacement: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` are
    // valid in `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let (mut last, mut from) = (0, 0);
    while let Some(pos) = lower[from..].find(pattern).map(|p| p + from) {
        let end = pos + pattern.len();
        let before = lower[..pos].chars().next_back().is_none_or(|c| !c.is_alphanumeric() && c != '_');
        let after = lower[end..].chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '_');
        if before && after {
            out.push_str(&text[last..pos]);
            out.push_str(&match_case(&text[pos..end], replacement));
            last = end;
            from = end;
        } else {
            from = pos + 1;
        }
    }
    out.push_str(&text[last..]);
    out
}

pub(super) fn replace_substring(text: &str, pattern: &str, replacement: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (pos, _) in lower.match_indices(pattern) {
        out.push_str(&text[last..pos]);
        out.push_str(&match_case(&text[pos..pos + pattern.len()], replacement));
        last = pos + pattern.len();
    }
    out.push_str(&text[last..]);
    out
}

pub(super) fn match_case(original: &str, replacement: &str) -> String {
    if original.chars().next().is_some_and(char::is_uppercase) { capitalize(replacement) } else { replacement.to_string() }
}

pub(super) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lowercases the first letter of `s` unless it looks like `I`, an acronym or a name
/// (a capital after the first letter).
pub(super) fn decapitalize_word(s: &str) -> String {
    let first = s.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    if first == "I" || first.chars().skip(1).any(char::is_uppercase) {
        return s.to_string();
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_ignore_decimals_and_abbreviations() {
        let t = "Rated 4.5 stars, e.g. on Amazon. Next one!\nThird";
        let s: Vec<&str> = sentences_of(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(s, ["Rated 4.5 stars, e.g. on Amazon.", "Next one!", "Third"]);
    }
}
