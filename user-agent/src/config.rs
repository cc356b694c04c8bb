//! Configuration of the user agent.

use productresearch_llm::EndpointConfig;
use productresearch_runtime::server::ServerConfig;
use productresearch_runtime::telemetry::TelemetryConfig;
use serde::{Deserialize, Serialize};

/// Everything the user agent needs; env prefix `USER_AGENT`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The model that infers intents.
    pub llm: EndpointConfig,
    /// gRPC server limits.
    pub server: ServerConfig,
    /// Logging.
    pub telemetry: TelemetryConfig,
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
