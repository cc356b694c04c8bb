//! Configuration of the user agent.

use std::path::PathBuf;

use productresearch_llm::EndpointConfig;
use productresearch_runtime::server::ServerConfig;
use productresearch_runtime::telemetry::TelemetryConfig;
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
    /// gRPC server limits.
    pub server: ServerConfig,
    /// Logging.
    pub telemetry: TelemetryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            llm: EndpointConfig::default(),
            follow_ups: false,
            max_reasks: 2,
            prompts_dir: None,
            server: ServerConfig::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
}

impl Config {
    /// Checks the config at start; one line on error.
    pub fn validate(&self) -> Result<(), String> {
        self.llm.validate("user-agent")
    }
}

impl productresearch_runtime::boot::ServiceConfig for Config {
    fn telemetry(&self) -> &TelemetryConfig {
        &self.telemetry
    }
}
