//! RACE judge: scores two reports on every criterion of the prompt's criteria list,
//! deterministically but plausibly. A report scores higher on a criterion the more of
//! the criterion's (and its explanation's) content words it contains, and a little
//! higher the longer it is, up to a point; so a richer report beats a thinner one, as
//! a real judge would say, and the same pair always gets the same scores.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::wire::ChatRequest;

pub fn answer(request: &ChatRequest) -> Value {
    let prompt = request.last_user_text().unwrap_or_default();
    let target = between(&prompt, "<article_1>", "</article_1>");
    let reference = between(&prompt, "<article_2>", "</article_2>");
    let criteria = between(&prompt, "<criteria_list>", "</criteria_list>");
    let mut out = serde_json::Map::new();
    let mut dimension: Option<String> = None;
    let mut items: Vec<Value> = Vec::new();
    let mut pending: Option<(String, String)> = None;
    let flush = |pending: &mut Option<(String, String)>, items: &mut Vec<Value>| {
        if let Some((criterion, explanation)) = pending.take() {
            let words = content_words(&format!("{criterion} {explanation}"));
            let (t, r) = (score(&target, &words), score(&reference, &words));
            items.push(json!({
                "criterion": criterion,
                "analysis": format!("article_1 covers {:.0}% of the criterion's terms, article_2 {:.0}%", coverage(&target, &words) * 100.0, coverage(&reference, &words) * 100.0),
                "article_1_score": t,
                "article_2_score": r,
            }));
        }
    };
    for line in criteria.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("## ") {
            flush(&mut pending, &mut items);
            if let Some(d) = dimension.take() {
                out.insert(d, Value::Array(std::mem::take(&mut items)));
            }
            dimension = Some(name.trim().to_owned());
        } else if let Some(rest) = line.split_once(". criterion:").map(|(_, r)| r.trim()) {
            flush(&mut pending, &mut items);
            pending = Some((rest.to_owned(), String::new()));
        } else if let Some(expl) = line.strip_prefix("explanation:")
            && let Some((_, e)) = pending.as_mut()
        {
            *e = expl.trim().to_owned();
        }
    }
    flush(&mut pending, &mut items);
    if let Some(d) = dimension {
        out.insert(d, Value::Array(items));
    }
    Value::Object(out)
}

fn between(text: &str, open: &str, close: &str) -> String {
    let Some(start) = text.find(open).map(|i| i + open.len()) else { return String::new() };
    let end = text[start..].find(close).map(|i| start + i).unwrap_or(text.len());
    text[start..end].trim().to_owned()
}

fn content_words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 3).map(str::to_lowercase).collect()
}

fn coverage(article: &str, words: &BTreeSet<String>) -> f64 {
    if words.is_empty() {
        return 0.0;
    }
    let have = content_words(article);
    words.iter().filter(|w| have.contains(*w)).count() as f64 / words.len() as f64
}

/// 1 + 6·coverage + 3·min(1, words/400), to one decimal: 1 for an empty report, 10
/// for a long one using every term.
fn score(article: &str, words: &BTreeSet<String>) -> f64 {
    let length = (article.split_whitespace().count() as f64 / 400.0).min(1.0);
    let s = 1.0 + 6.0 * coverage(article, words) + 3.0 * length;
    (s * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(a1: &str, a2: &str) -> String {
        format!(
            "<task>\nq\n</task>\n<article_1>\n{a1}\n</article_1>\n<article_2>\n{a2}\n</article_2>\n<criteria_list>\n## comprehensiveness\n\
             1. criterion: Price comparison\n   explanation: compares prices across retailers\n2. criterion: Warranty\n\n\
             ## readability\n1. criterion: Clear structure\n</criteria_list>\n"
        )
    }

    #[test]
    fn scores_every_criterion_and_prefers_the_richer_report() {
        let request: ChatRequest = serde_json::from_value(json!({
            "model": "m",
            "messages": [{"role": "user", "content": prompt("prices compared across retailers; warranty is two years", "ok")}],
        }))
        .unwrap();
        let v = answer(&request);
        let comp = v["comprehensiveness"].as_array().unwrap();
        assert_eq!(comp.len(), 2);
        assert_eq!(comp[0]["criterion"], "Price comparison");
        assert!(comp[0]["article_1_score"].as_f64().unwrap() > comp[0]["article_2_score"].as_f64().unwrap());
        assert_eq!(v["readability"][0]["criterion"], "Clear structure");
        assert_eq!(answer(&request), v, "deterministic");
    }
}
