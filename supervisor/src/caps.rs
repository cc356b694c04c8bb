//! Per-trajectory caps and budgets.

use serde::{Deserialize, Serialize};

/// Limits of one trajectory. The first three must be positive; the budgets
/// after them are off at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Caps {
    /// Report rounds before the trajectory ends unapproved (the paper plots six).
    pub max_report_rounds: u32,
    /// Approved tool calls.
    pub max_tool_calls: u32,
    /// Consecutive rejections of one plan or tool-call step.
    pub max_rejections_per_step: u32,
    /// Approved tool calls within one report round (0: no per-round cap).
    pub max_round_tool_calls: u32,
    /// Prompt + completion tokens of the whole trajectory (0: no budget).
    pub max_tokens: u64,
    /// Prompt + completion tokens of each role: the research agent's steps,
    /// the supervisor's verdicts (0: no budget).
    pub max_role_tokens: u64,
    /// Wall time of the trajectory in seconds, counted from its first recorded
    /// event, so time before a restart counts too (0: no budget).
    pub max_wall_secs: u64,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_report_rounds: 6,
            max_tool_calls: 8,
            max_rejections_per_step: 3,
            max_round_tool_calls: 0,
            max_tokens: 0,
            max_role_tokens: 0,
            max_wall_secs: 0,
        }
    }
}

impl Caps {
    /// Takes each non-zero field of a request's caps over these.
    pub fn overridden_by(self, request: Caps) -> Self {
        fn pick<T: PartialEq + Default>(req: T, default: T) -> T {
            if req == T::default() { default } else { req }
        }
        Self {
            max_report_rounds: pick(request.max_report_rounds, self.max_report_rounds),
            max_tool_calls: pick(request.max_tool_calls, self.max_tool_calls),
            max_rejections_per_step: pick(request.max_rejections_per_step, self.max_rejections_per_step),
            max_round_tool_calls: pick(request.max_round_tool_calls, self.max_round_tool_calls),
            max_tokens: pick(request.max_tokens, self.max_tokens),
            max_role_tokens: pick(request.max_role_tokens, self.max_role_tokens),
            max_wall_secs: pick(request.max_wall_secs, self.max_wall_secs),
        }
    }

    /// Every cap must allow at least one step.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_report_rounds == 0 || self.max_tool_calls == 0 || self.max_rejections_per_step == 0 {
            return Err("supervisor: caps max_report_rounds, max_tool_calls and max_rejections_per_step must all be > 0".into());
        }
        Ok(())
    }
}

impl From<productresearch_proto::supervisor::v1::Caps> for Caps {
    /// Zero fields stay zero: [`Caps::overridden_by`] reads them as "default".
    fn from(c: productresearch_proto::supervisor::v1::Caps) -> Self {
        Self {
            max_report_rounds: c.max_report_rounds,
            max_tool_calls: c.max_tool_calls,
            max_rejections_per_step: c.max_rejections_per_step,
            max_round_tool_calls: c.max_round_tool_calls,
            max_tokens: c.max_tokens,
            max_role_tokens: c.max_role_tokens,
            max_wall_secs: c.max_wall_secs,
        }
    }
}

impl From<Caps> for productresearch_proto::supervisor::v1::Caps {
    fn from(c: Caps) -> Self {
        Self {
            max_report_rounds: c.max_report_rounds,
            max_tool_calls: c.max_tool_calls,
            max_rejections_per_step: c.max_rejections_per_step,
            max_round_tool_calls: c.max_round_tool_calls,
            max_tokens: c.max_tokens,
            max_role_tokens: c.max_role_tokens,
            max_wall_secs: c.max_wall_secs,
        }
    }
}
