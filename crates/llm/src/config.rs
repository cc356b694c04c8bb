//! Per-role endpoint configuration.

use serde::{Deserialize, Serialize};

/// How tool calls travel between the client and the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolMode {
    /// The endpoint's own `tools` / `tool_calls` (vLLM, SGLang, hosted APIs).
    #[default]
    Native,
    /// Tools described in the prompt; the answer constrained by a JSON schema
    /// (`response_format`), a oneOf of one object per tool plus the report. The
    /// reliable choice for small local models.
    JsonSchema,
    /// Tools described in the prompt; the call parsed from free text: a
    /// `<tool_call>` block, then a fenced block, then the first JSON object.
    Lenient,
}

/// One OpenAI-compatible endpoint as used by one role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointConfig {
    /// Base URL including `/v1`, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Model name sent in each request.
    pub model: String,
    /// Name of the environment variable that holds the API key (the key itself
    /// is never part of the config, so printing a config cannot leak it).
    pub api_key_env: Option<String>,
    /// Sampling temperature (endpoint default when unset).
    pub temperature: Option<f32>,
    /// Most completion tokens per call (endpoint default when unset).
    pub max_tokens: Option<u32>,
    /// Timeout of one HTTP attempt, in seconds.
    pub timeout_secs: u64,
    /// Retries after the first attempt, for transient failures only.
    pub max_retries: u32,
    /// First backoff step, in milliseconds (doubles each retry, full jitter).
    pub backoff_base_ms: u64,
    /// Longest wait between attempts, in milliseconds (also caps Retry-After).
    pub backoff_max_ms: u64,
    /// Ask for JSON-schema-constrained output (`response_format`) where a role
    /// wants JSON. Turn off for endpoints that reject the field.
    pub structured_output: bool,
    /// Most calls in flight at once to this endpoint from this process: the
    /// ceiling of the adaptive limit (which backs off on 429/503 and slow
    /// answers and grows again while the endpoint keeps up). 64 for a
    /// standalone service; `productresearch run` sets its `concurrency` unless
    /// this is set.
    pub max_concurrency: usize,
    /// Adapt the number of calls in flight to the endpoint (AIMD, honouring
    /// Retry-After); off keeps `max_concurrency` calls in flight whatever the
    /// endpoint answers.
    pub adaptive_concurrency: bool,
    /// Refusals in a row (400/401/403/404, no success in between) after which
    /// the endpoint counts as broken and calls fail at once.
    pub breaker_threshold: u32,
    /// How long a broken endpoint is not called before one probe call, in seconds.
    pub breaker_cooldown_secs: u64,
    /// How tool calls are exchanged with this endpoint.
    pub tool_mode: ToolMode,
    /// Times an unusable answer (no JSON, arguments not matching the schema) is
    /// sent back to the model with the error before it counts as a failure.
    pub reask_limit: u32,
    /// Context window in tokens, when known (else asked from the endpoint).
    pub context_length: Option<u32>,
    /// Fields added to every request body as given: the server's own sampling
    /// settings (llama.cpp's `repeat_last_n`, vLLM's `repetition_penalty`,
    /// `frequency_penalty`, ...). Not the fields the client sets itself.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// Fields added on top of `extra_body` to requests whose answer is free
    /// prose (the research agent's report), never to JSON answers: an
    /// anti-repetition sampler (llama.cpp's `dry_multiplier`, a
    /// `frequency_penalty`) stops a small model's looping report but, on
    /// every request, breaks the JSON whose keys must repeat.
    pub prose_extra_body: serde_json::Map<String, serde_json::Value>,
    /// Longest prose answer (the report), when it should be shorter than
    /// `max_tokens`; the report's length the model is told of follows it.
    pub prose_max_tokens: Option<u32>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            model: String::new(),
            api_key_env: None,
            temperature: None,
            max_tokens: None,
            timeout_secs: 120,
            max_retries: 4,
            backoff_base_ms: 250,
            backoff_max_ms: 30_000,
            structured_output: true,
            max_concurrency: 64,
            adaptive_concurrency: true,
            breaker_threshold: 5,
            breaker_cooldown_secs: 30,
            tool_mode: ToolMode::Native,
            reask_limit: 2,
            context_length: None,
            extra_body: serde_json::Map::new(),
            prose_extra_body: serde_json::Map::new(),
            prose_max_tokens: None,
        }
    }
}

impl EndpointConfig {
    /// An endpoint at `base_url` serving `model`, other settings default.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self { base_url: base_url.into(), model: model.into(), ..Self::default() }
    }

    /// Checks what would otherwise fail on the first call.
    pub fn validate(&self, role: &str) -> Result<(), String> {
        if self.base_url.trim().is_empty() {
            // A standalone service has no model unless told: say how to give one.
            return Err(format!(
                "{role}: llm.base_url is not set; give the OpenAI-compatible endpoint this role calls (e.g. http://127.0.0.1:8080/v1) \
                 in the config file or its environment variable (<SERVICE>_LLM__BASE_URL), or start `sim-llm` for a simulated model"
            ));
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(format!("{role}: llm.base_url must start with http:// or https:// (got {:?})", self.base_url));
        }
        if self.model.trim().is_empty() {
            return Err(format!("{role}: llm.model is empty"));
        }
        if self.timeout_secs == 0 || self.max_concurrency == 0 {
            return Err(format!("{role}: llm.timeout_secs and llm.max_concurrency must be > 0"));
        }
        const OWN: [&str; 7] = ["model", "messages", "tools", "tool_choice", "response_format", "temperature", "max_tokens"];
        for (name, body) in [("extra_body", &self.extra_body), ("prose_extra_body", &self.prose_extra_body)] {
            if let Some(key) = body.keys().find(|k| OWN.contains(&k.as_str())) {
                return Err(format!("{role}: llm.{name}.{key} is a field the client sets itself; remove it from {name}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_body_may_not_set_what_the_client_sets() {
        let mut config = EndpointConfig::new("http://127.0.0.1:8080/v1", "m");
        config.extra_body.insert("repeat_last_n".into(), 512.into());
        assert_eq!(config.validate("supervisor"), Ok(()));
        config.extra_body.insert("temperature".into(), 0.9.into());
        assert_eq!(
            config.validate("supervisor"),
            Err("supervisor: llm.extra_body.temperature is a field the client sets itself; remove it from extra_body".into())
        );
        config.extra_body.remove("temperature");
        config.prose_extra_body.insert("max_tokens".into(), 10.into());
        assert_eq!(
            config.validate("research-agent"),
            Err("research-agent: llm.prose_extra_body.max_tokens is a field the client sets itself; remove it from prose_extra_body".into())
        );
    }
}
