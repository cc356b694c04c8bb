//! Deterministic checks: they decide a verdict without a model call, with
//! feedback from the `supervisor/feedback/*` templates. Their thresholds are
//! the guards of [`Caps`].

mod call;
mod feedback;
mod target;
mod text;

use productresearch_record::ToolResult;
use productresearch_record::words::{RunSet, Words};

pub use call::{CallChecker, usable_results};
pub use feedback::{Feedback, check_templates};
pub use text::TextChecker;

use crate::caps::Caps;

/// Feedback when `text` is degenerate model output — the same phrase over and
/// over (a decoder stuck in a loop), or one letter or digit over and over —
/// `None` otherwise.
pub fn degenerate(text: &str, caps: &Caps) -> Option<Feedback> {
    char_run(text, caps.degenerate_char_run).or_else(|| repeated_phrases(text, caps))
}

/// The phrase loop: the share of word 4-grams that occurred before in the
/// text, above `caps.degenerate_repeat_percent` (0: off) in a text of at
/// least `caps.degenerate_min_words` (short texts repeat by chance).
fn repeated_phrases(text: &str, caps: &Caps) -> Option<Feedback> {
    let percent = caps.degenerate_repeat_percent as usize;
    if percent == 0 {
        return None;
    }
    let words = Words::whitespace(text);
    if words.len() < caps.degenerate_min_words as usize || words.len() < 4 {
        return None;
    }
    let grams = words.len() - 3;
    let mut seen = RunSet::default();
    let repeated = words.runs(4).filter(|g| !seen.insert(*g)).count();
    (repeated * 100 > percent * grams).then(|| Feedback::degenerate(repeated as f64 / grams as f64))
}

/// Feedback when `text` has `min_run` (0: off) or more of one letter or
/// digit in a row. A decoder stuck on one token repeats no word, so the
/// phrase count misses it: an exported plan read "Visit the product's full
/// record by product_id 1000000000…" (73 characters).
fn char_run(text: &str, min_run: u32) -> Option<Feedback> {
    if min_run == 0 {
        return None;
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.next_if_eq(&c).is_some() {
            run += 1;
        }
        if c.is_alphanumeric() && run >= min_run as usize {
            return Some(Feedback::char_run(c, run));
        }
    }
    None
}

/// Feedback when `text` stops mid-way (a length limit, a `maxLength` bound, a
/// decoder that gave up), `None` otherwise. The judgement is the model
/// client's (`productresearch_llm::completeness`), so a report the research
/// agent would re-ask is never approved here either.
pub fn cut_off(text: &str) -> Option<Feedback> {
    productresearch_llm::completeness::is_cut_off(text).map(|why| Feedback::cut_off(&why.to_string()))
}

/// Characters of a tool error quoted back in the feedback.
const QUOTED_ERROR_CHARS: usize = 200;

/// The result check (`check_results`, off by default): feedback when a tool
/// result is a tool error or empty, so the agent fixes the call instead of
/// building on nothing; `None` for a usable result. Without the check a
/// result is recorded as it comes and no verdict goes back to the agent.
pub fn unusable_result(result: &ToolResult) -> Option<Feedback> {
    if result.is_error {
        return Some(Feedback::tool_failed(&result.name, quoted_error(result)));
    }
    result.content.trim().is_empty().then(|| Feedback::tool_empty(&result.name))
}

/// The first line of a tool error, as far as it is quoted back.
pub fn quoted_error(result: &ToolResult) -> &str {
    truncate(result.content.trim().lines().next().unwrap_or(""), QUOTED_ERROR_CHARS)
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_empty_results_are_unusable() {
        let result =
            |content: &str, is_error| ToolResult { call_id: "c".into(), name: "web_visit".into(), content: content.into(), is_error };
        let failed = unusable_result(&result("url is not allowed: 10.0.0.1\nmore", true)).unwrap().text();
        assert!(failed.starts_with("web_visit failed (url is not allowed: 10.0.0.1)"), "{failed}");
        assert!(unusable_result(&result("  \n", false)).unwrap().text().contains("returned nothing"));
        assert_eq!(unusable_result(&result("{\"results\": []}", false)), None);
    }
}
