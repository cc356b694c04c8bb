//! Whether a report is finished. A model cut off by its token limit stops in the
//! middle of a sentence, a table row or a code block; such a report, even if
//! approved, would teach a model to stop mid-thought. Stricter than
//! [`crate::completeness::is_cut_off`] (which judges any answer): a report
//! also must not end on a heading or a bare phrase. One rule for everyone who
//! judges a report: the model client trims to it, the supervisor sends back
//! what fails it, the distiller drops what fails it.

/// Why `report` looks cut off, or `Ok` with what its last line is.
pub fn check(report: &str) -> Result<&'static str, String> {
    let text = report.trim_end();
    if text.is_empty() {
        return Err("the report is empty".into());
    }
    if text.matches("```").count() % 2 == 1 {
        return Err("the report ends inside a code block (unbalanced ```)".into());
    }
    for (open, close, name) in [("<think>", "</think>", "<think>"), ("<tool_call>", "</tool_call>", "<tool_call>")] {
        if text.matches(open).count() != text.matches(close).count() {
            return Err(format!("the report leaves {name} unclosed"));
        }
    }
    let last = text.lines().last().unwrap_or("").trim();
    // Brackets, parentheses and bold markers close on the line they open on.
    for (open, close) in [('(', ')'), ('[', ']')] {
        if last.matches(open).count() > last.matches(close).count() {
            return Err(format!("the last line leaves {open:?} unclosed: {:?}", tail(last)));
        }
    }
    if last.matches("**").count() % 2 == 1 {
        return Err(format!("the last line leaves ** unclosed: {:?}", tail(last)));
    }
    if last.starts_with('|') {
        let header = text.lines().rev().take_while(|l| l.trim().starts_with('|')).last().unwrap_or(last).trim();
        let cells = |l: &str| l.trim().trim_matches('|').split('|').count();
        if !last.ends_with('|') || cells(last) != cells(header) {
            return Err(format!("the report ends inside a table row: {:?}", tail(last)));
        }
        return Ok("table");
    }
    if last.starts_with('#') {
        return Err(format!("the report ends with a heading and nothing under it: {:?}", tail(last)));
    }
    let item = ["- ", "* ", "+ "].iter().any(|b| last.starts_with(b))
        || last.split_once(". ").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if item {
        // A list item may end without punctuation, but not on a dangling word.
        return match dangling_word(last) {
            Some(w) => Err(format!("the last list item stops at {w:?}: {:?}", tail(last))),
            None => Ok("list item"),
        };
    }
    let closed = last.ends_with(['.', '!', '?', ')', ']', '"', '\'', '*', '_', '`', '>', '…', '»', '”', '’', '|'])
        || last.ends_with(|c: char| !c.is_ascii() && !c.is_alphanumeric());
    if closed {
        Ok("sentence")
    } else if urls_only(last) {
        Ok("link")
    } else {
        Err(format!("the report stops mid-sentence: {:?}", tail(last)))
    }
}

/// The whole part of `text`, an answer cut at a token bound: its last block
/// (after the last blank line; in a text of one block, its last line, or in
/// one line its last sentence) is dropped however whole it looks, since the
/// model was still writing it ("- **Price**: $199.0" of a product whose other
/// facts never came), then lines until what is left is whole (passes
/// [`check`] and [`crate::completeness::is_cut_off`]). `None` when less than
/// half of the text would be left: then it is no report to keep.
///
/// For an answer cut at a bound the client set (`max_tokens`, a grammar's
/// `maxLength`), where the model wrote more than fits rather than failing to
/// finish: the complete part is the model's own words.
pub fn trim(text: &str) -> Option<String> {
    whole_part(text, text.trim_end().len().div_ceil(2))
}

/// [`trim`] with `min_bytes` (instead of half the text) as the least that
/// must be left: `None` when less would be, or when nothing is whole.
pub fn whole_part(text: &str, min_bytes: usize) -> Option<String> {
    let text = text.trim_end();
    let mut end = text.rfind("\n\n").or_else(|| text.rfind('\n')).or_else(|| last_sentence_end(text))?;
    loop {
        let kept = text[..end].trim_end();
        if kept.len() < min_bytes.max(1) {
            return None;
        }
        if check(kept).is_ok() && crate::completeness::is_cut_off(kept).is_none() {
            return Some(kept.to_string());
        }
        // Drop the last line; a single long line is cut after its last sentence.
        end = match kept.rfind('\n') {
            Some(i) => i,
            None => last_sentence_end(kept)?,
        };
    }
}

/// `text` without the fence line of a report wrapped in a code block that
/// never closes (`` ```markdown `` as its first line and no closing fence): the
/// small models write that and stop, and the report inside is whole. Any
/// other text comes back as it is; a block opened later is [`trim`]'s.
pub fn unfence(text: &str) -> std::borrow::Cow<'_, str> {
    let fences = text.lines().filter(|l| l.trim_start().starts_with("```")).count();
    let first = text.lines().find(|l| !l.trim().is_empty());
    match first {
        Some(line) if fences % 2 == 1 && line.trim_start().starts_with("```") => {
            let at = text.find(line).expect("a line of the text") + line.len();
            std::borrow::Cow::Owned(text[at..].trim_start_matches(['\r', '\n']).to_string())
        }
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// Where `line`'s last sentence but one ends (after its `.`, `!` or `?`).
fn last_sentence_end(line: &str) -> Option<usize> {
    line.rfind(['.', '!', '?']).map(|i| i + 1).filter(|&i| i < line.len())
}

fn urls_only(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    !words.is_empty() && words.iter().any(|w| w.starts_with("http")) && words.len() <= 3
}

/// A last word that cannot end a phrase (an article, preposition or conjunction).
fn dangling_word(line: &str) -> Option<String> {
    const DANGLING: &[&str] = &[
        "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "for", "with", "by", "from", "at", "as", "is", "are", "was", "that",
        "which", "its", "their", "than",
    ];
    let word = line.split_whitespace().last()?.to_ascii_lowercase();
    (DANGLING.contains(&word.as_str()) || line.ends_with([',', '-', '—', '–', ':'])).then_some(word)
}

fn tail(line: &str) -> String {
    let n = line.chars().count();
    if n <= 60 { line.to_string() } else { format!("…{}", line.chars().skip(n - 60).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_wrapped_in_a_fence_it_never_closes_is_unwrapped() {
        // Seen on the 0.5B model: sent back twice for the fence and ended as a model failure.
        let wrapped = "```markdown\n# Picks\n\nThe Aurion [hp-001] is the pick at $329.99.\n";
        assert_eq!(unfence(wrapped), "# Picks\n\nThe Aurion [hp-001] is the pick at $329.99.\n");
        assert!(check(&unfence(wrapped)).is_ok());
        let closed = "```\nnot a report\n```\nThe Aurion [hp-001] is the pick.";
        assert_eq!(unfence(closed), closed, "a closed block stays");
        let later = "# Picks\nThe Aurion [hp-001] is the pick.\n```json\n{\"a\":";
        assert_eq!(unfence(later), later, "a block opened later is trimmed, not unwrapped");
        assert_eq!(trim(later).as_deref(), Some("# Picks\nThe Aurion [hp-001] is the pick."));
    }

    #[test]
    fn an_unfinished_end_is_trimmed_to_the_whole_part() {
        let cut = "# Report\n\nThe Sony [B01] is the pick at $299: quiet, light, and it folds flat.\n\n- Sony [B01], $299\n## Verdict\nBuy the Sony if";
        assert_eq!(trim(cut).as_deref(), Some("# Report\n\nThe Sony [B01] is the pick at $299: quiet, light, and it folds flat."));
        let lines = "# Report\nThe Sony [B01] is the pick at $299.\nThe Bose [B02] is quieter.\n- Bose [B02], $349\n- Sony";
        assert_eq!(
            trim(lines).as_deref(),
            Some("# Report\nThe Sony [B01] is the pick at $299.\nThe Bose [B02] is quieter.\n- Bose [B02], $349")
        );
        let one_line = "The Aurion [hp-001] is the pick at $329. It folds flat. The Nordtone [hp-002] costs less but has";
        assert_eq!(trim(one_line).as_deref(), Some("The Aurion [hp-001] is the pick at $329. It folds flat."));
        // Seen on the 0.5B model: cut at max_tokens inside a product's facts, on a line that looks whole.
        let listing = "# Picks\n\n1. **Aurion Quiet 700** [hp-001]\n   - **Price**: $329.99\n\n2. **Aurion Buds Pro 2** [hp-004]\n   - **Price**: $199.0";
        assert_eq!(
            trim(listing).as_deref(),
            Some("# Picks\n\n1. **Aurion Quiet 700** [hp-001]\n   - **Price**: $329.99"),
            "a cut answer's last block goes, however whole it looks"
        );
        let mostly_cut = "# R\nBuy it.\nThe three reasons are these: the battery, the weight, the fit, the price, and the way it";
        assert_eq!(trim(mostly_cut), None, "less than half left is no report");
    }

    #[test]
    fn finished_reports_pass() {
        for (report, kind) in [
            ("# Report\n\nBuy the Ninja.", "sentence"),
            ("Buy it (it is cheap).", "sentence"),
            ("## Sources\n- https://a.example/x", "list item"),
            ("| a | b |\n|---|---|\n| 1 | 2 |", "table"),
            ("1. [B01] One — price: 19.5", "list item"),
            ("See https://a.example/x", "link"),
            ("```\ncode\n```\nDone.", "sentence"),
        ] {
            assert_eq!(check(report), Ok(kind), "{report}");
        }
    }

    #[test]
    fn cut_off_reports_are_refused() {
        for (report, why) in [
            ("# Report\n\nThe best option is the Ninja, because it", "mid-sentence"),
            ("| a | b |\n|---|---|\n| 1 | 2", "table row"),
            ("| a | b |\n|---|---|\n| 1 |", "table row"),
            ("Intro.\n```\nfn main() {", "code block"),
            ("Buy the Ninja (it is", "unclosed"),
            ("See **the best", "** unclosed"),
            ("Intro.\n\n## Sources", "heading"),
            ("- Evidence: catalog listing [B0", "unclosed"),
            ("- The Ninja is cheaper than the", "stops at \"the\""),
            ("", "empty"),
            ("Good.\n<think>\nhmm", "<think>"),
        ] {
            let err = check(report).unwrap_err();
            assert!(err.contains(why), "{report:?}: {err}");
        }
    }
}
