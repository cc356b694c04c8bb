//! Report grounding: every product id and URL the final report cites must have
//! come back from a tool in the same trajectory. A report citing things no tool
//! returned teaches a model to invent evidence.
//!
//! Citations are URLs (`http://` or `https://`, up to whitespace or a closing
//! bracket) and bracketed ids such as `[hp-001]` or `[B07XJ8C8F5]`: one token of
//! letters, digits and `-_.:/` with at least one digit (so `[1]`-style footnote
//! numbers and tool names such as `[web_visit]` are not ids; a footnote number
//! has no letter and is skipped too).

use std::collections::BTreeSet;

use productresearch_record::{StepKind, Trajectory};

/// The product ids and URLs `report` cites, deduplicated, in sorted order.
pub fn citations(report: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in report.match_indices("http") {
        let rest = &report[i..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let end = rest.find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '>' | '"' | '\'' | '<')).unwrap_or(rest.len());
        let url = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        if url.len() > "https://".len() {
            out.insert(url.to_string());
        }
    }
    let mut rest = report;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let token = rest[..close].trim();
        let id_like = !token.is_empty()
            && token.len() <= 64
            && !token.starts_with("http")
            && token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
            && token.chars().any(|c| c.is_ascii_digit())
            && token.chars().any(|c| c.is_ascii_alphabetic());
        if id_like {
            out.insert(token.to_string());
        }
    }
    out
}

/// Checks that every citation of `report` appears in an approved tool result or
/// an approved call's arguments (a `web_visit` of a URL returned it) of
/// `trajectory`; the number of citations on success, the ungrounded ones otherwise.
pub fn check(trajectory: &Trajectory, report: &str) -> Result<usize, String> {
    let cited = citations(report);
    if cited.is_empty() {
        return Ok(0);
    }
    let mut seen = String::new();
    for (_, step, verdict) in trajectory.steps() {
        match step.kind {
            StepKind::ToolResult => {
                if let Some(r) = &step.tool_result {
                    seen.push_str(&r.content);
                    seen.push('\n');
                }
            }
            StepKind::ToolCall if verdict.is_some_and(|v| v.approved()) => {
                if let Some(c) = &step.tool_call {
                    seen.push_str(&c.arguments);
                    seen.push('\n');
                }
            }
            _ => {}
        }
    }
    let missing: Vec<&str> = cited.iter().map(String::as_str).filter(|c| !seen.contains(c)).collect();
    if missing.is_empty() {
        Ok(cited.len())
    } else {
        let shown: Vec<&str> = missing.iter().take(5).copied().collect();
        Err(format!("the report cites {} that no tool returned: {}", missing.len(), shown.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_urls_and_id_like_brackets_only() {
        let report = "Buy [hp-001] (see https://example.com/review-1). Also [B07XJ8C8F5], per [web_visit] and [1]; \
                      more at <https://shop.example/p?id=2>.";
        let got: Vec<String> = citations(report).into_iter().collect();
        assert_eq!(got, ["B07XJ8C8F5", "hp-001", "https://example.com/review-1", "https://shop.example/p?id=2"]);
    }
}
