//! Small valid values for tests of the crates that use these types (feature
//! `fixtures`), so every test suite builds its rubric the same way.

use crate::{Criterion, Dimension, Intent, Rubric, RubricDimension};

/// Equal dimension weights, one criterion each.
pub fn rubric() -> Rubric {
    Rubric {
        dimensions: Dimension::ALL
            .iter()
            .map(|d| RubricDimension {
                dimension: *d,
                weight: 0.25,
                criteria: vec![Criterion { criterion: "c".into(), explanation: "e".into(), weight: 1.0 }],
            })
            .collect(),
    }
}

/// An intent with `query` and [`rubric`].
pub fn intent(query: &str) -> Intent {
    Intent { persona: "A commuter who takes the train every day.".into(), query: query.into(), rubric: rubric(), follow_ups: Vec::new() }
}

/// The four tools with minimal schemas: one required string argument each
/// (`query`, `product_id`, `query`, `url`) and an optional integer `limit`.
pub fn tools() -> Vec<crate::ToolSpec> {
    let schema = |key: &str| serde_json::json!({"type": "object", "properties": {key: {"type": "string"}, "limit": {"type": "integer"}}, "required": [key]});
    [
        ("product_search", "search products", "query"),
        ("visit_product", "open a product", "product_id"),
        ("web_search", "search the web", "query"),
        ("web_visit", "read a page", "url"),
    ]
    .into_iter()
    .map(|(name, description, key)| crate::ToolSpec { name: name.into(), description: description.into(), parameters: schema(key) })
    .collect()
}
