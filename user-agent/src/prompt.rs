//! What the user agent asks its model, and the schema of the answer.

use productresearch_record::{Dimension, UserHistory};
use serde_json::{Value, json};

/// Instructions for the intent model.
pub const SYSTEM: &str = "You simulate a real online shopper. From the shopper's behaviour history you infer \
who they are and what they will want to research next. Answer with one JSON object with keys \
\"persona\" (2-4 sentences about the shopper, grounded in the history), \"query\" (ONE concrete, \
complex research question this shopper would ask a shopping research assistant, with their \
constraints such as budget, use case and must-have features; answerable by searching a product \
catalog and the web) and \"rubric\" (how to judge an answer: \"dimensions\" is a list of exactly \
four entries, one per dimension comprehensiveness, depth, instruction_following and readability, \
each with a \"weight\" (the four sum to 1) and 2-4 \"criteria\", each with \"criterion\", \
\"explanation\" and \"weight\" (summing to 1 within the dimension)). Use only what the history \
supports; do not invent personal details.";

/// Renders a history as the user message, oldest event first: one line per
/// event, `- [kind] Title (category: …, price: …, rating: …): text`, with the
/// time on an indented line below (times contain `:` and `,`, which would make
/// the detail block ambiguous).
pub fn render_history(history: &UserHistory) -> String {
    let mut out = String::from("Behaviour history of the shopper (oldest first):\n");
    for e in &history.events {
        out.push_str("- [");
        out.push_str(e.kind.label());
        out.push(']');
        if !e.title.is_empty() {
            out.push(' ');
            out.push_str(&e.title);
        }
        let mut details = Vec::new();
        if !e.category.is_empty() {
            details.push(format!("category: {}", e.category));
        }
        if let Some(p) = e.price {
            details.push(format!("price: {p}"));
        }
        if let Some(r) = e.rating {
            details.push(format!("rating: {r}"));
        }
        if !details.is_empty() {
            out.push_str(&format!(" ({})", details.join(", ")));
        }
        if !e.text.is_empty() {
            out.push_str(": ");
            out.push_str(&e.text.replace('\n', " "));
        }
        out.push('\n');
        if let Some(t) = &e.timestamp {
            out.push_str(&format!("  at {t}\n"));
        }
    }
    out.push_str("\nInfer the persona, the next research query and its rubric as JSON.");
    out
}

/// JSON schema of the intent; sent as `response_format` where supported.
///
/// The four dimensions are a tuple (`prefixItems`) in RACE order, each with its
/// name as a constant: a grammar-constrained endpoint then cannot repeat or
/// skip a dimension, which small models otherwise do. (`items: false` would say
/// "nothing after the tuple" too, but llama.cpp's grammar builder rejects a
/// boolean schema; `maxItems` says the same.)
pub fn intent_schema() -> Value {
    let criterion = json!({
        "type": "object",
        "properties": {
            "criterion": {"type": "string", "minLength": 1},
            "explanation": {"type": "string"},
            "weight": {"type": "number", "minimum": 0}
        },
        "required": ["criterion", "explanation", "weight"],
        "additionalProperties": false
    });
    let dimension = |name: &str| {
        json!({
            "type": "object",
            "properties": {
                "dimension": {"const": name},
                "weight": {"type": "number", "minimum": 0},
                "criteria": {"type": "array", "minItems": 1, "maxItems": 5, "items": criterion}
            },
            "required": ["dimension", "weight", "criteria"],
            "additionalProperties": false
        })
    };
    json!({
        "type": "object",
        "properties": {
            "persona": {"type": "string", "minLength": 1},
            "query": {"type": "string", "minLength": 1},
            "rubric": {
                "type": "object",
                "properties": {
                    "dimensions": {
                        "type": "array",
                        "prefixItems": Dimension::ALL.iter().map(|d| dimension(d.name())).collect::<Vec<_>>(),
                        "minItems": 4,
                        "maxItems": 4
                    }
                },
                "required": ["dimensions"],
                "additionalProperties": false
            }
        },
        "required": ["persona", "query", "rubric"],
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::{HistoryEvent, HistoryEventKind};

    #[test]
    fn renders_details_text_and_time() {
        let h = UserHistory {
            user_id: "u".into(),
            events: vec![
                HistoryEvent {
                    kind: HistoryEventKind::Purchase,
                    timestamp: Some("2025-01-02T03:04:05Z".into()),
                    product_id: "p1".into(),
                    title: "Kettle".into(),
                    price: Some(20.5),
                    rating: Some(4.0),
                    text: "boils\nfast".into(),
                    category: "Home > Kitchen".into(),
                },
                HistoryEvent {
                    kind: HistoryEventKind::Search,
                    timestamp: None,
                    product_id: String::new(),
                    title: String::new(),
                    price: None,
                    rating: None,
                    text: "quiet kettle".into(),
                    category: String::new(),
                },
            ],
        };
        let text = render_history(&h);
        assert!(
            text.contains(
                "- [purchase] Kettle (category: Home > Kitchen, price: 20.5, rating: 4): boils fast\n  at 2025-01-02T03:04:05Z\n"
            ),
            "{text}"
        );
        assert!(text.contains("- [search]: quiet kettle\n"), "{text}");
    }

    #[test]
    fn the_schema_admits_each_dimension_once_in_order() {
        let schema = jsonschema::validator_for(&intent_schema()).unwrap();
        let dim = |d: &str| serde_json::json!({"dimension": d, "weight": 0.25, "criteria": [{"criterion": "c", "explanation": "e", "weight": 1.0}]});
        let intent = |dims: Vec<serde_json::Value>| serde_json::json!({"persona": "p", "query": "q", "rubric": {"dimensions": dims}});
        let good = intent(vec![dim("comprehensiveness"), dim("depth"), dim("instruction_following"), dim("readability")]);
        assert!(schema.is_valid(&good));
        let repeated = intent(vec![dim("depth"), dim("depth"), dim("instruction_following"), dim("readability")]);
        assert!(!schema.is_valid(&repeated));
        let short = intent(vec![dim("comprehensiveness"), dim("depth"), dim("instruction_following")]);
        assert!(!schema.is_valid(&short));
    }
}
