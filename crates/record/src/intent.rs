//! A shopping intent inferred by the user agent.

use serde::{Deserialize, Serialize};

use crate::Rubric;

/// Persona, research query and rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// Who the user is.
    pub persona: String,
    /// One concrete research query.
    pub query: String,
    /// How a report answering the query is judged.
    pub rubric: Rubric,
}
