//! Configuration of the research agent.

use productresearch_llm::EndpointConfig;
use productresearch_runtime::boot::{ServiceCommon, ServiceConfig};
use productresearch_runtime::client::ClientConfig;
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that override the config
/// (`RESEARCH_AGENT_MAX_TOOL_CALLS`, ...).
pub const ENV_PREFIX: &str = "RESEARCH_AGENT";

/// Everything the research agent needs; env prefix `RESEARCH_AGENT`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The agent's model.
    pub llm: EndpointConfig,
    /// Where the tool gateway is.
    pub tool_gateway: ClientConfig,
    /// Tool calls allowed before the agent must report, when the supervisor sets none.
    pub max_tool_calls: u32,
    /// A report the supervisor sent back stays in the model's context for
    /// its revision; off, only the feedback does and the model writes the
    /// report anew (for a small model that copies its draft
    /// whatever the feedback says; `productresearch run` turns it off on
    /// the embedded model).
    pub keep_sent_back_reports: bool,
    /// Folder of prompt template overrides (`<dir>/research_agent/system.j2`, ...;
    /// see docs/prompts.md); the built-in templates when unset.
    pub prompts_dir: Option<std::path::PathBuf>,
    /// Settings every service has (`[server]`, `[telemetry]`; see
    /// `productresearch_runtime::boot::ServiceCommon`).
    #[serde(flatten)]
    pub common: ServiceCommon,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            llm: EndpointConfig::default(),
            tool_gateway: ClientConfig::single("http://127.0.0.1:50054"),
            max_tool_calls: 8,
            keep_sent_back_reports: true,
            prompts_dir: None,
            common: ServiceCommon::default(),
        }
    }
}

impl Config {
    /// Checks the config at start; one line on error.
    pub fn validate(&self) -> Result<(), String> {
        self.llm.validate("research-agent")?;
        if self.tool_gateway.endpoints.is_empty() {
            return Err("research-agent: tool_gateway.endpoints is empty".into());
        }
        Ok(())
    }
}

impl ServiceConfig for Config {
    fn common(&self) -> &ServiceCommon {
        &self.common
    }
}
