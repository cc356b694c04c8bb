//! What the user agent asks its model, and the schema of the answer.

use productresearch_prompts::{PromptError, PromptSet, Rendered};
use productresearch_record::{Dimension, UserHistory};
use serde::Serialize;
use serde_json::{Value, json};

/// The system message (template `user_agent/intent_system`).
pub const SYSTEM: &str = "user_agent/intent_system";
/// The user message: the history (template `user_agent/history`).
pub const HISTORY: &str = "user_agent/history";
/// Sent back with a validation error (template `user_agent/intent_retry`).
pub const RETRY: &str = "user_agent/intent_retry";

/// How many follow-up turns the multi-turn mode asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FollowUpRange {
    /// Fewest turns.
    pub min: usize,
    /// Most turns.
    pub max: usize,
}

/// The system message; with `follow_ups` it also asks for follow-up turns.
pub fn system(prompts: &PromptSet, follow_ups: Option<FollowUpRange>) -> Result<Rendered, PromptError> {
    prompts.render(SYSTEM, json!({ "follow_ups": follow_ups }))
}

/// One event as the history template sees it: the detail block is
/// pre-formatted so numbers read as the source gave them (`20.5`, `4`).
#[derive(Serialize)]
struct EventView<'a> {
    kind: &'static str,
    title: &'a str,
    details: String,
    text: String,
    timestamp: Option<&'a str>,
}

/// Renders a history as the user message, oldest event first: one line per
/// event, `- [kind] Title (category: …, price: …, rating: …): text`, with the
/// time on an indented line below (times contain `:` and `,`, which would make
/// the detail block ambiguous).
pub fn render_history(prompts: &PromptSet, history: &UserHistory) -> Result<Rendered, PromptError> {
    let events: Vec<EventView> = history
        .events
        .iter()
        .map(|e| {
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
            EventView {
                kind: e.kind.label(),
                title: &e.title,
                details: details.join(", "),
                text: e.text.replace('\n', " "),
                timestamp: e.timestamp.as_deref(),
            }
        })
        .collect();
    prompts.render(HISTORY, json!({ "events": events }))
}

/// Renders every user agent template once with sample values, so a broken
/// override fails at start (one line naming the template), not per request.
pub fn check(prompts: &PromptSet, follow_ups: Option<FollowUpRange>) -> Result<(), PromptError> {
    use productresearch_record::{HistoryEvent, HistoryEventKind};
    system(prompts, follow_ups)?;
    let event = HistoryEvent {
        kind: HistoryEventKind::Purchase,
        timestamp: Some("2025-01-01T00:00:00Z".into()),
        product_id: "p".into(),
        title: "t".into(),
        price: Some(1.0),
        rating: Some(1.0),
        text: "x".into(),
        category: "c".into(),
    };
    render_history(prompts, &UserHistory { user_id: "u".into(), events: vec![event] })?;
    retry(prompts, "e")?;
    Ok(())
}

/// The re-ask after an answer that failed validation.
pub fn retry(prompts: &PromptSet, error: &str) -> Result<Rendered, PromptError> {
    prompts.render(RETRY, json!({ "error": error }))
}

/// Fewest answer tokens the intent call asks for: the bounded intent of
/// [`intent_schema`] with follow-ups is ~3,800 characters at most.
pub const INTENT_MAX_TOKENS: u32 = 1_280;

/// JSON schema of the intent; sent as `response_format` where supported.
///
/// The four dimensions are a tuple (`prefixItems`) in RACE order, each with its
/// name as a constant: a grammar-constrained endpoint then cannot repeat or
/// skip a dimension, which small models otherwise do. (`items: false` would say
/// "nothing after the tuple" too, but llama.cpp's grammar builder rejects a
/// boolean schema; `maxItems` says the same.)
///
/// Free text is bounded (`maxLength`) so that a grammar-constrained endpoint
/// closes the whole intent within [`INTENT_MAX_TOKENS`]: unbounded, a small
/// model writes one explanation until the token limit cuts the JSON off.
pub fn intent_schema(follow_ups: Option<FollowUpRange>) -> Value {
    let criterion = json!({
        "type": "object",
        "properties": {
            "criterion": {"type": "string", "minLength": 1, "maxLength": 80},
            "explanation": {"type": "string", "maxLength": 120},
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
                "criteria": {"type": "array", "minItems": 2, "maxItems": 3, "items": criterion}
            },
            "required": ["dimension", "weight", "criteria"],
            "additionalProperties": false
        })
    };
    let mut schema = json!({
        "type": "object",
        "properties": {
            "persona": {"type": "string", "minLength": 1, "maxLength": 300},
            "query": {"type": "string", "minLength": 1, "maxLength": 300},
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
    });
    if let Some(range) = follow_ups {
        // Same call, same constraint: the turns are part of the one answer.
        schema["properties"]["follow_ups"] = json!({
            "type": "array",
            "minItems": range.min,
            "maxItems": range.max,
            "items": {
                "type": "object",
                "properties": {
                    "shift": {"type": "string", "enum": ["narrow", "broaden", "change_constraint"]},
                    "message": {"type": "string", "minLength": 1, "maxLength": 300}
                },
                "required": ["shift", "message"],
                "additionalProperties": false
            }
        });
        schema["required"] = json!(["persona", "query", "rubric", "follow_ups"]);
    }
    schema
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
        let text = render_history(&PromptSet::builtin(), &h).unwrap().text;
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
        let schema = jsonschema::validator_for(&intent_schema(None)).unwrap();
        let c = serde_json::json!({"criterion": "c", "explanation": "e", "weight": 1.0});
        let dim = |d: &str| serde_json::json!({"dimension": d, "weight": 0.25, "criteria": [c, c]});
        let intent = |dims: Vec<serde_json::Value>| serde_json::json!({"persona": "p", "query": "q", "rubric": {"dimensions": dims}});
        let good = intent(vec![dim("comprehensiveness"), dim("depth"), dim("instruction_following"), dim("readability")]);
        assert!(schema.is_valid(&good));
        let repeated = intent(vec![dim("depth"), dim("depth"), dim("instruction_following"), dim("readability")]);
        assert!(!schema.is_valid(&repeated));
        let short = intent(vec![dim("comprehensiveness"), dim("depth"), dim("instruction_following")]);
        assert!(!schema.is_valid(&short));
    }
}
