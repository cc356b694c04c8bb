//! Configuration of the distiller.

use std::path::PathBuf;

use productresearch_llm::EndpointConfig;
use productresearch_runtime::boot::{ServiceCommon, ServiceConfig};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::filter::FilterConfig;
use crate::tokens::Bucket;

/// Prefix of the environment variables that override the config
/// (`DISTILLER_MIN_TOOL_CALLS`, `DISTILLER_SERVER__MAX_MESSAGE_BYTES`, ...).
pub const ENV_PREFIX: &str = "DISTILLER";

/// The system message of every exported example unless the config replaces it.
/// It names the four tools and the plan → research → report protocol, because the
/// exported conversations follow exactly that shape.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a shopping research agent. You answer a shopper's research question in three phases. \
First, write a research plan. Then research it with your four tools: product_search and visit_product for the product catalog, \
web_search and web_visit for the open web; check facts, compare options and avoid repeating calls. Finally, write a report that \
answers the question with specific products, prices and the evidence behind each recommendation. Before each step, think about \
what the previous steps showed and correct your own mistakes.";

/// Everything the distiller needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Fewest assistant turns an exported example has; a request's non-zero value
    /// replaces it. The paper drops trajectories with too few turns.
    pub min_assistant_turns: u32,
    /// Fewest approved tool calls (each with its result) a kept trajectory has; a
    /// request's non-zero value replaces it.
    pub min_tool_calls: u32,
    /// The other filters (their `min_*` values are replaced by the two above).
    pub filters: FilterConfig,
    /// Longest example kept, as a bucket: `32k`, `64k` or `128k`.
    pub bucket: Bucket,
    /// `o200k_base` (default), `cl100k_base` or a path to a Hugging Face tokenizer.json.
    pub tokenizer: String,
    /// The system message of every exported example.
    pub system_prompt: String,
    /// Folder of prompt template overrides (`distiller/reflection.j2`, `distiller/race_judge.j2`, ...).
    pub prompts_dir: Option<PathBuf>,
    /// The research agent's model, asked to restate each rejection as its own
    /// reflection; unset, the rule-based rewrite is used.
    pub reflection: Option<EndpointConfig>,
    /// The RACE judge model; unset, the Judge RPC answers FAILED_PRECONDITION.
    pub judge: Option<EndpointConfig>,
    /// Times a malformed judgement is asked for again before the Judge RPC fails.
    pub judge_retries: u32,
    /// Settings every service has (`[server]`, `[telemetry]`; see
    /// `productresearch_runtime::boot::ServiceCommon`).
    #[serde(flatten)]
    pub common: ServiceCommon,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_assistant_turns: 3,
            min_tool_calls: 2,
            filters: FilterConfig::default(),
            bucket: Bucket::K128,
            tokenizer: "o200k_base".into(),
            system_prompt: DEFAULT_SYSTEM_PROMPT.to_string(),
            prompts_dir: None,
            reflection: None,
            judge: None,
            judge_retries: 2,
            common: ServiceCommon::default(),
        }
    }
}

impl Config {
    /// Checks the values serde cannot, so a bad config fails at start with one line.
    pub fn validate(&self) -> Result<(), Error> {
        if self.system_prompt.trim().is_empty() {
            return Err(Error::Config("system_prompt must not be empty: every example starts with it".into()));
        }
        if self.common.server.max_message_bytes == 0 {
            return Err(Error::Config("server.max_message_bytes must be positive".into()));
        }
        if !(0.0..=1.0).contains(&self.filters.near_duplicate_jaccard) {
            return Err(Error::Config("filters.near_duplicate_jaccard must be between 0 (off) and 1".into()));
        }
        for (role, endpoint) in [("reflection", &self.reflection), ("judge", &self.judge)] {
            if let Some(e) = endpoint {
                e.validate(role).map_err(Error::Config)?;
            }
        }
        if self.common.server.concurrency_limit == 0 {
            return Err(Error::Config("server.concurrency_limit must be positive".into()));
        }
        Ok(())
    }
}

impl ServiceConfig for Config {
    fn common(&self) -> &ServiceCommon {
        &self.common
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_name_the_four_tools() {
        let c = Config::default();
        c.validate().unwrap();
        for tool in ["product_search", "visit_product", "web_search", "web_visit"] {
            assert!(c.system_prompt.contains(tool), "{tool}");
        }
    }

    #[test]
    fn empty_system_prompt_is_rejected() {
        let c = Config { system_prompt: "  ".into(), ..Config::default() };
        assert!(c.validate().unwrap_err().to_string().contains("system_prompt"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = serde_json::from_str::<Config>(r#"{"min_tool_call": 3}"#).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("min_tool_call"), "{err}");
    }
}
