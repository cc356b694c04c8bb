//! Configuration of the user agent.

use std::path::PathBuf;

use productresearch_llm::EndpointConfig;
use productresearch_runtime::boot::{ServiceCommon, ServiceConfig};
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that override the config
/// (`USER_AGENT_LLM__MODEL`, ...).
pub const ENV_PREFIX: &str = "USER_AGENT";

/// Everything the user agent needs; env prefix `USER_AGENT`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The model that infers intents.
    pub llm: EndpointConfig,
    /// Multi-turn mode: the intent also carries 2-3 follow-up turns whose
    /// intent shifts (narrow, broaden, change a constraint), asked for in the
    /// same schema-constrained call.
    pub follow_ups: bool,
    /// Re-asks after an answer that is valid JSON but not a usable intent
    /// (vague or double query, bad rubric); the error is sent back each time.
    pub max_reasks: u32,
    /// Folder of prompt template overrides (`<dir>/user_agent/intent_system.j2`,
    /// ...; see docs/prompts.md); the built-in templates when unset.
    pub prompts_dir: Option<PathBuf>,
    /// Settings every service has (`[server]`, `[telemetry]`; see
    /// `productresearch_runtime::boot::ServiceCommon`).
    #[serde(flatten)]
    pub common: ServiceCommon,
}

impl Default for Config {
    fn default() -> Self {
        Self { llm: EndpointConfig::default(), follow_ups: false, max_reasks: 2, prompts_dir: None, common: ServiceCommon::default() }
    }
}

impl Config {
    /// Checks the config at start; one line on error.
    pub fn validate(&self) -> Result<(), String> {
        self.llm.validate("user-agent")
    }
}

impl ServiceConfig for Config {
    fn common(&self) -> &ServiceCommon {
        &self.common
    }
}
