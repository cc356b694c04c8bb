//! The agent's character budget for one tool answer (`visit_max_chars`).
//!
//! Budgets count characters, not bytes: they stand in for tokens, and a byte
//! count would punish non-English text for its encoding.

/// Marks text that was cut, so the agent knows there is more.
pub const ELLIPSIS: char = '…';

/// `text` cut to at most `max` characters (the ellipsis included), at a word
/// boundary when one is near, never inside a character.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let keep = max - 1;
    let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    // Back up to the last space if it costs at most a fifth of the kept text:
    // half a word reads worse than a slightly shorter cut.
    let head = match head.rfind(char::is_whitespace) {
        Some(i) if head[..i].chars().count() * 5 >= keep * 4 => &head[..i],
        _ => head,
    };
    let mut out = head.trim_end().to_string();
    out.push(ELLIPSIS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_words_within_the_budget() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("the quick brown fox jumps", 12), "the quick…");
        assert_eq!(truncate("abcdefghij", 5), "abcd…");
        assert_eq!(truncate("héllo wörld ñandú", 8), "héllo w…");
        assert_eq!(truncate("héllo wörld ñandú", 14), "héllo wörld…");
        for max in 0..20 {
            assert!(truncate("éééé ééé éééééé éé", max).chars().count() <= max);
        }
    }
}
