//! A tool as the agent's model sees it.

use serde::{Deserialize, Serialize};

/// Name, description and JSON schema of a tool's arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// Tool name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON schema of the arguments object. Shared: every request of every
    /// session offers the same schemas, and a copy per request was a tenth of
    /// the research agent's memory at 1,000 trajectories in flight.
    pub parameters: std::sync::Arc<serde_json::Value>,
}
