//! What the simulator does: model identity, pacing, the agents' script knobs and faults.
//!
//! The serde shape is what a `--config` TOML file holds, e.g.
//!
//! ```toml
//! latency_ms = 5
//! reject_first_plan = false
//! text_tool_style = "tagged"
//! invalid_first_action = true
//!
//! [[faults]]
//! trigger = { first_n = 1 }
//! kind = { rate_limited = { retry_after_secs = 1 } }
//!
//! [[faults]]
//! trigger = { every_nth = 10 }
//! kind = "server_error"
//! ```

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Everything the simulator's answers depend on besides the request itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Model id listed by `/v1/models`; completions echo the request's model instead.
    pub model: String,
    pub context_length: u32,
    /// Delay before every chat completion answer (time to first token).
    pub latency_ms: u64,
    /// When positive, each answer's delay is drawn from `latency_ms ±
    /// latency_jitter_ms` (uniform; a pure function of the request's index,
    /// so a run is reproducible), as a real server's latency varies.
    pub latency_jitter_ms: u64,
    /// When set, adds `completion_tokens / tokens_per_sec` seconds, so long outputs cost
    /// more wall time like a real decoder.
    pub tokens_per_sec: Option<f64>,
    /// Supervisor rejects attempt 1 of a plan, so the revise loop is exercised.
    pub reject_first_plan: bool,
    /// Supervisor rejects attempt 1 of a report, so the revise loop is exercised.
    pub reject_first_report: bool,
    /// Tool calls the research agent makes before it writes its report.
    pub tool_steps: usize,
    /// How a text-form call is written when no `response_format` constrains the reply.
    pub text_tool_style: TextToolStyle,
    /// The first text-form call of a conversation breaks its tool's schema, until the
    /// client re-asks, so the client's bounded re-ask path is exercised.
    pub invalid_first_action: bool,
    /// A re-ask (a user message saying the last answer could not be used,
    /// right after the assistant's answer) is answered with that answer again,
    /// word for word, and cut at the token limit again: what a 0.5B model did
    /// when a report it wrote past the limit was handed back to it.
    pub repeat_on_reask: bool,
    /// Checked in order; the first rule whose trigger matches the request index wins.
    pub faults: Vec<FaultRule>,
    /// A rate limit in front of the model, as hosted APIs and gateways keep:
    /// requests beyond it get 429 at once — with `Retry-After` (the wait for
    /// the next token) beyond `requests_per_sec`, without one beyond
    /// `max_concurrent` (a place frees whenever an answer ends).
    pub rate_limit: Option<RateLimit>,
    /// When set, a chat completion without `Authorization: Bearer <api_key>`
    /// gets 401, as from an API with a wrong key.
    pub api_key: Option<String>,
    /// When on, a chat completion naming another model than `model` gets 404
    /// `model_not_found`, as from a server that does not serve it.
    pub strict_model: bool,
}

/// How much the simulated endpoint takes; either bound or both.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests admitted per second (a token bucket holding one second's worth).
    #[serde(default)]
    pub requests_per_sec: Option<f64>,
    /// Requests being answered at once.
    #[serde(default)]
    pub max_concurrent: Option<u64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            model: "sim-model".to_owned(),
            context_length: 32768,
            latency_ms: 0,
            latency_jitter_ms: 0,
            tokens_per_sec: None,
            reject_first_plan: true,
            reject_first_report: true,
            tool_steps: 4,
            text_tool_style: TextToolStyle::default(),
            invalid_first_action: false,
            repeat_on_reask: false,
            faults: Vec::new(),
            rate_limit: None,
            api_key: None,
            strict_model: false,
        }
    }
}

impl SimConfig {
    /// The delay before answer number `index`: `latency_ms`, moved by up to
    /// `latency_jitter_ms` either way by a hash of the index (splitmix64).
    pub fn latency(&self, index: u64) -> std::time::Duration {
        if self.latency_jitter_ms == 0 {
            return std::time::Duration::from_millis(self.latency_ms);
        }
        let mut z = index.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let span_us = 2 * self.latency_jitter_ms * 1_000;
        let low_us = (self.latency_ms - self.latency_jitter_ms) * 1_000;
        std::time::Duration::from_micros(low_us + z % (span_us + 1))
    }

    /// Parses a TOML config file's text; absent keys keep their defaults.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Rejects values that would make the simulator misbehave (divide by zero, never fire).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.model.trim().is_empty() {
            return Err(ConfigError::Invalid("model must not be empty".into()));
        }
        if self.context_length == 0 {
            return Err(ConfigError::Invalid("context_length must be positive".into()));
        }
        if self.latency_jitter_ms > self.latency_ms {
            return Err(ConfigError::Invalid(format!(
                "latency_jitter_ms ({}) must not exceed latency_ms ({}): a delay cannot be negative",
                self.latency_jitter_ms, self.latency_ms
            )));
        }
        if let Some(tps) = self.tokens_per_sec
            && !(tps.is_finite() && tps > 0.0)
        {
            return Err(ConfigError::Invalid(format!("tokens_per_sec must be a positive number, got {tps}")));
        }
        if let Some(limit) = &self.rate_limit {
            if limit.requests_per_sec.is_none() && limit.max_concurrent.is_none() {
                return Err(ConfigError::Invalid("rate_limit needs requests_per_sec or max_concurrent".into()));
            }
            if limit.requests_per_sec.is_some_and(|r| !(r.is_finite() && r > 0.0)) || limit.max_concurrent == Some(0) {
                return Err(ConfigError::Invalid("rate_limit bounds must be positive".into()));
            }
        }
        for (i, rule) in self.faults.iter().enumerate() {
            if let Trigger::EveryNth(0) = rule.trigger {
                return Err(ConfigError::Invalid(format!("faults[{i}]: every_nth must be at least 1")));
            }
        }
        Ok(())
    }
}

/// The shapes small local models write tool calls in, when nothing forces JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextToolStyle {
    /// A sentence of intent, then the call in a fenced `json` code block.
    #[default]
    Fenced,
    /// `<tool_call>{"name": .., "arguments": ..}</tool_call>`, as Qwen and Hermes templates
    /// train models to write (note `name`, not `tool`).
    Tagged,
    /// The `{"tool": .., "arguments": ..}` object alone.
    Bare,
}

/// One injected failure: when it fires and what the client sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub trigger: Trigger,
    pub kind: FaultKind,
}

/// Which chat-completion requests (0-based arrival index) a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The first N requests.
    FirstN(u64),
    /// Every n-th request: index % n == n - 1.
    EveryNth(u64),
    /// Exactly these indices.
    Requests(Vec<u64>),
}

/// What a faulted request gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// 429 with a `Retry-After` header.
    RateLimited { retry_after_secs: u64 },
    /// 503, with `Retry-After` when given.
    Unavailable {
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// 500.
    ServerError,
    /// Sleeps, then answers normally: the client is expected to give up first.
    Timeout { delay_ms: u64 },
    /// 200 whose body is not JSON.
    MalformedJson,
    /// 200 with a valid envelope but unparseable content or tool arguments.
    GarbledContent,
    /// 200 whose answer runs on and is cut at the token limit
    /// (`finish_reason: length`), as a small model's report that pastes
    /// tool results does.
    CutOff,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_file_layers_over_defaults() {
        let config = SimConfig::from_toml_str(
            r#"
            latency_ms = 5
            reject_first_plan = false
            text_tool_style = "tagged"
            [[faults]]
            trigger = { first_n = 1 }
            kind = { rate_limited = { retry_after_secs = 2 } }
            [[faults]]
            trigger = { requests = [3, 4] }
            kind = "malformed_json"
            [[faults]]
            trigger = { every_nth = 10 }
            kind = { unavailable = {} }
            "#,
        )
        .unwrap();
        assert_eq!(config.latency_ms, 5);
        assert!(!config.reject_first_plan);
        assert!(config.reject_first_report);
        assert_eq!(config.model, "sim-model");
        assert_eq!(config.text_tool_style, TextToolStyle::Tagged);
        assert!(!config.invalid_first_action);
        assert_eq!(config.faults.len(), 3);
        assert_eq!(config.faults[0].kind, FaultKind::RateLimited { retry_after_secs: 2 });
        assert_eq!(config.faults[1].trigger, Trigger::Requests(vec![3, 4]));
        assert_eq!(config.faults[2].kind, FaultKind::Unavailable { retry_after_secs: None });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        assert!(SimConfig::from_toml_str("latency = 5").is_err());
        assert!(SimConfig::from_toml_str("tokens_per_sec = 0.0").is_err());
        assert!(SimConfig::from_toml_str("latency_ms = 100\nlatency_jitter_ms = 101").is_err());
        assert!(SimConfig::from_toml_str("text_tool_style = \"xml\"").is_err());
        assert!(SimConfig::from_toml_str("[rate_limit]").is_err());
        assert!(SimConfig::from_toml_str("[rate_limit]\nmax_concurrent = 0").is_err());
        let limited = SimConfig::from_toml_str("[rate_limit]\nrequests_per_sec = 20.0").unwrap();
        assert_eq!(limited.rate_limit, Some(RateLimit { requests_per_sec: Some(20.0), max_concurrent: None }));
        let every_zero = "[[faults]]\ntrigger = { every_nth = 0 }\nkind = \"server_error\"";
        assert!(SimConfig::from_toml_str(every_zero).is_err());
    }

    #[test]
    fn jittered_latency_stays_in_range_spreads_and_repeats() {
        let fixed = SimConfig { latency_ms: 1_000, ..SimConfig::default() };
        assert_eq!(fixed.latency(7), std::time::Duration::from_millis(1_000));
        let jittered = SimConfig { latency_ms: 1_000, latency_jitter_ms: 500, ..SimConfig::default() };
        let ms: Vec<u128> = (0..1_000).map(|i| jittered.latency(i).as_millis()).collect();
        assert!(ms.iter().all(|m| (500..=1_500).contains(m)), "out of range");
        let mean = ms.iter().sum::<u128>() as f64 / ms.len() as f64;
        assert!((mean - 1_000.0).abs() < 50.0, "mean {mean}");
        assert!(ms.iter().filter(|m| **m < 750).count() > 150 && ms.iter().filter(|m| **m > 1_250).count() > 150, "not spread");
        assert_eq!(jittered.latency(42), jittered.latency(42));
    }
}
