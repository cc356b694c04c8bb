//! A visit opens a target the research has met: `web_visit` a url that
//! `web_search` returned, `visit_product` a product_id that `product_search`
//! returned, as their schemas say. A made-up target is a small model's
//! commonest bad call; sent on, it comes back as a tool error, and a
//! trajectory holding a tool error is no training data (the distiller's
//! failure filter). So it is sent back before it costs a call, with the
//! targets the results did offer.

use std::collections::HashMap;

use serde_json::Value;

use super::Feedback;

/// The tools that open a target, the argument naming it (also the key the
/// search results list their targets under) and the search that lists them.
const VISITS: [(&str, &str, &str); 2] = [("web_visit", "url", "web_search"), ("visit_product", "product_id", "product_search")];

/// Offered targets quoted back in the feedback.
const QUOTED_TARGETS: usize = 5;

/// What the research has met so far: the query and follow-ups, and the
/// targets the tool results listed. The results' texts are not copied: the
/// trajectory holds them, and [`Targets::check`] is handed them (a copy was
/// ~10 KB per trajectory in flight).
#[derive(Debug, Default)]
pub struct Targets {
    /// The query and follow-ups, one per line block.
    said: String,
    /// Targets the results listed under each key, first seen first.
    offered: HashMap<&'static str, Vec<String>>,
}

impl Targets {
    /// Remembers what the shopper said (the query, a follow-up).
    pub fn remember_said(&mut self, text: &str) {
        self.said.push('\n');
        self.said.push_str(text);
    }

    /// Remembers the targets a usable tool result lists.
    pub fn remember_result(&mut self, text: &str) {
        let Ok(value) = serde_json::from_str::<Value>(text) else { return };
        for (_, key, _) in VISITS {
            let offered = self.offered.entry(key).or_default();
            for target in values_under(&value, key) {
                if !offered.iter().any(|o| o == target) {
                    offered.push(target.to_string());
                }
            }
        }
    }

    /// Feedback when `tool` would open a target that neither what was said
    /// nor the usable tool `results` so far list, `None` for a listed one or a
    /// tool that opens no target.
    pub fn check(&self, tool: &str, args: &Value, results: &[&str]) -> Option<Feedback> {
        let (_, key, search) = VISITS.iter().find(|(name, _, _)| *name == tool)?;
        let target = args.get(key)?.as_str()?.trim();
        if target.is_empty() || std::iter::once(self.said.as_str()).chain(results.iter().copied()).any(|text| listed(text, target)) {
            return None;
        }
        let offered: Vec<&str> = self.offered.get(key).into_iter().flatten().take(QUOTED_TARGETS).map(String::as_str).collect();
        Some(Feedback::unlisted_target(tool, key, target, search, &offered))
    }
}

/// Whether `target` occurs whole in `text`: not as a part of a longer id or
/// URL (a trailing `/` aside).
fn listed(text: &str, target: &str) -> bool {
    let target = target.strip_suffix('/').filter(|t| !t.is_empty()).unwrap_or(target);
    text.match_indices(target).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let rest = &text[at + target.len()..];
        let after = rest.strip_prefix('/').unwrap_or(rest).chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || "-_/.:".contains(c))
            && !after.is_some_and(|c| c.is_alphanumeric() || "-_/%".contains(c))
    })
}

/// Every string under `key` anywhere in `value`.
fn values_under<'a>(value: &'a Value, key: &str) -> Vec<&'a str> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| match (k == key, v.as_str()) {
                (true, Some(s)) => vec![s],
                _ => values_under(v, key),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(|v| values_under(v, key)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const RESULTS: [&str; 2] = [
        r#"{"results":[{"url":"https://example.org/best-anc/","title":"Best ANC"},{"url":"https://example.org/anc-2","title":"More"}]}"#,
        r#"{"products":[{"product_id":"hp-001","title":"Aurion Quiet 700"}]}"#,
    ];

    fn seen() -> Targets {
        let mut t = Targets::default();
        t.remember_said("wireless headphones for flights under $300, like https://shop.example/said");
        RESULTS.iter().for_each(|r| t.remember_result(r));
        t
    }

    #[test]
    fn listed_targets_pass_and_made_up_ones_are_sent_back_with_the_listed_ones() {
        let t = seen();
        let check = |tool: &str, args: &Value| t.check(tool, args, &RESULTS);
        for (tool, args) in [
            ("web_visit", json!({"url": "https://example.org/best-anc/"})),
            ("web_visit", json!({"url": "https://example.org/best-anc"})),
            ("visit_product", json!({"product_id": "hp-001", "goal": "battery"})),
            ("product_search", json!({"query": "hp-999"})),
        ] {
            assert_eq!(check(tool, &args), None, "{tool} {args}");
        }
        let made_up = check("web_visit", &json!({"url": "https://www.rtings.com/headphones"})).expect("sent back").text();
        assert!(made_up.contains("https://www.rtings.com/headphones") && made_up.contains("https://example.org/anc-2"), "{made_up}");
        let product = check("visit_product", &json!({"product_id": "hp-0012"})).expect("part of no listed id").text();
        assert!(product.contains("one of these instead: hp-001."), "{product}");
        // A longer path or id that merely starts with a listed one is another target.
        assert!(check("web_visit", &json!({"url": "https://example.org/anc"})).is_some());
        assert!(check("visit_product", &json!({"product_id": "hp-00"})).is_some());
        // What the shopper said counts; a result not handed in does not.
        assert_eq!(check("web_visit", &json!({"url": "https://shop.example/said"})), None);
        assert!(t.check("visit_product", &json!({"product_id": "hp-001"}), &RESULTS[..1]).is_some());
    }

    #[test]
    fn before_any_search_the_feedback_says_to_search_first() {
        let t = Targets::default();
        let text = t.check("visit_product", &json!({"product_id": "hp-001"}), &[]).expect("sent back").text();
        assert!(text.contains("Search first (product_search)"), "{text}");
    }
}
