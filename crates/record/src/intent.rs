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
    /// Follow-up turns whose intent shifts (multi-turn mode); empty in the
    /// paper's single-turn setting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUp>,
}

/// How a follow-up turn shifts the user's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentShift {
    /// A tighter constraint, fewer candidates.
    Narrow,
    /// A relaxed constraint, more options.
    Broaden,
    /// One constraint changes (budget, use case, brand...).
    ChangeConstraint,
}

/// One follow-up turn of a multi-turn intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// How the intent shifts relative to the turn before.
    pub shift: IntentShift,
    /// What the user says next.
    pub message: String,
}
