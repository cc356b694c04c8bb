//! History → intent.

use productresearch_llm::{ChatRequest, JsonSchema, LlmClient, Message};
use productresearch_record::{Intent, TokenUsage, UserHistory};

use crate::error::Error;
use crate::prompt;

/// Longest query accepted; a longer one is not "one concrete question".
const MAX_QUERY_CHARS: usize = 1_500;

/// An inferred intent with what it cost.
#[derive(Debug, Clone)]
pub struct Inferred {
    /// The validated intent.
    pub intent: Intent,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// Model that answered.
    pub model: String,
}

/// Infers intents with one model.
#[derive(Debug, Clone)]
pub struct IntentInferrer {
    llm: LlmClient,
}

impl IntentInferrer {
    /// An inferrer using `llm`.
    pub fn new(llm: LlmClient) -> Self {
        Self { llm }
    }

    /// Infers and validates one intent.
    pub async fn infer(&self, history: &UserHistory) -> Result<Inferred, Error> {
        history.validate().map_err(Error::InvalidHistory)?;
        let request = ChatRequest {
            messages: vec![Message::system(prompt::SYSTEM), Message::user(prompt::render_history(history))],
            json_schema: Some(JsonSchema { name: "intent".into(), schema: prompt::intent_schema() }),
            ..ChatRequest::default()
        };
        let (value, response) = self.llm.chat_json(&request).await?;
        let intent = parse_intent(value)?;
        Ok(Inferred { intent, usage: response.usage, model: response.model })
    }
}

/// Parses and validates the model's JSON: rubric weights normalised, the query
/// a single non-empty question of sane length.
pub fn parse_intent(value: serde_json::Value) -> Result<Intent, Error> {
    let intent: Intent = serde_json::from_value(value).map_err(|e| Error::InvalidIntent(e.to_string()))?;
    let query = intent.query.trim().to_string();
    if query.is_empty() {
        return Err(Error::InvalidIntent("query is empty".into()));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::InvalidIntent(format!("query is longer than {MAX_QUERY_CHARS} characters")));
    }
    if intent.persona.trim().is_empty() {
        return Err(Error::InvalidIntent("persona is empty".into()));
    }
    let rubric = intent.rubric.normalized().map_err(|e| Error::InvalidIntent(e.to_string()))?;
    Ok(Intent { persona: intent.persona.trim().to_string(), query, rubric, follow_ups: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dims(w: f64) -> serde_json::Value {
        json!(
            ["comprehensiveness", "depth", "instruction_following", "readability"]
                .iter()
                .map(|d| json!({"dimension": d, "weight": w, "criteria": [{"criterion": "c", "explanation": "e", "weight": 2.0}]}))
                .collect::<Vec<_>>()
        )
    }

    #[test]
    fn weights_are_normalised() {
        let i = parse_intent(json!({"persona": "p", "query": " q? ", "rubric": {"dimensions": dims(25.0)}})).unwrap();
        assert_eq!(i.query, "q?");
        assert!((i.rubric.dimensions.iter().map(|d| d.weight).sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(i.rubric.dimensions[0].criteria[0].weight, 1.0);
    }

    #[test]
    fn empty_query_and_bad_rubric_are_rejected() {
        assert!(parse_intent(json!({"persona": "p", "query": "  ", "rubric": {"dimensions": dims(1.0)}})).is_err());
        let three = json!({"persona": "p", "query": "q", "rubric": {"dimensions": [dims(1.0)[0], dims(1.0)[1], dims(1.0)[2]]}});
        assert!(matches!(parse_intent(three), Err(Error::InvalidIntent(m)) if m.contains("four dimensions")));
        assert!(parse_intent(json!({"persona": "p", "query": "q"})).is_err());
    }
}
