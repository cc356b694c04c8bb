//! JSON answers: finding the JSON object in a model's text output, and
//! asking for one that matches a schema.

use crate::client::{LlmClient, excerpt};
use crate::error::LlmError;
use crate::message::{ChatRequest, ChatResponse};
use crate::reask::CUT_OFF;
use crate::wording::say;

impl LlmClient {
    /// A chat completion whose content must be a JSON value matching the
    /// request's `json_schema` (when given). An answer without JSON, or one that
    /// breaks the schema, is sent back with the error up to `reask_limit` times;
    /// after that it is [`LlmError::Unusable`]. Usage covers every attempt.
    pub async fn chat_json(&self, req: &ChatRequest) -> Result<(serde_json::Value, ChatResponse), LlmError> {
        let validator = match &req.json_schema {
            Some(s) => Some(
                self.validators.get_shared(&s.schema).map_err(|e| LlmError::Config(format!("schema {} does not compile: {e}", s.name)))?,
            ),
            None => None,
        };
        let read = |resp: &ChatResponse| {
            let text = resp.content.as_deref().unwrap_or_default();
            match extract_json(text) {
                _ if resp.finish_reason.as_deref() == Some("length") => Err(CUT_OFF.to_string()),
                None => Err(format!("expected a JSON object, got {:?}", excerpt(text))),
                Some(v) => match validator.as_ref().map(|val| val.iter_errors(&v).take(3).map(|e| e.to_string()).collect::<Vec<_>>()) {
                    Some(errors) if !errors.is_empty() => Err(format!("the JSON does not match the schema: {}", errors.join("; "))),
                    _ => Ok(v),
                },
            }
        };
        let usable = self.ask_until_usable(req, |_| None, read, &say("again_json", serde_json::json!({}))).await?;
        Ok((usable.value, usable.response))
    }
}

/// Returns the JSON value in `text`: the whole text if it parses, else the
/// body of a fenced code block, else the first balanced `{...}` object. Small
/// models wrap JSON in prose or fences even when asked not to.
pub fn extract_json(text: &str) -> Option<serde_json::Value> {
    let trimmed = text.trim();
    if let Ok(v) = serde_json::from_str(trimmed) {
        return Some(v);
    }
    if let Some(body) = fenced(trimmed)
        && let Ok(v) = serde_json::from_str(body.trim())
    {
        return Some(v);
    }
    first_object(trimmed).and_then(|s| serde_json::from_str(s).ok())
}

fn fenced(text: &str) -> Option<&str> {
    let start = text.find("```")?;
    let after = &text[start + 3..];
    let body_start = after.find('\n').map(|i| i + 1).unwrap_or(0);
    let body = &after[body_start..];
    let end = body.find("```")?;
    Some(&body[..end])
}

fn first_object(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for (i, ch) in text[start..].char_indices() {
        if in_str {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..start + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_json_in_plain_fenced_and_prose_output() {
        assert_eq!(extract_json(r#"{"a":1}"#), Some(json!({"a":1})));
        assert_eq!(extract_json("```json\n{\"a\": 2}\n```"), Some(json!({"a":2})));
        assert_eq!(extract_json("Sure! {\"a\": {\"b\": \"}\"}} hope it helps"), Some(json!({"a":{"b":"}"}})));
        assert_eq!(extract_json("no json here"), None);
        assert_eq!(extract_json("{\"a\": "), None);
    }
}
