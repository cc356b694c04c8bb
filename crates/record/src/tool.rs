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
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}
