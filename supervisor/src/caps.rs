//! Per-trajectory caps.

use serde::{Deserialize, Serialize};

/// Limits of one trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Caps {
    /// Report rounds before the trajectory ends unapproved (the paper plots six).
    pub max_report_rounds: u32,
    /// Approved tool calls.
    pub max_tool_calls: u32,
    /// Consecutive rejections of one plan or tool-call step.
    pub max_rejections_per_step: u32,
}

impl Default for Caps {
    fn default() -> Self {
        Self { max_report_rounds: 6, max_tool_calls: 8, max_rejections_per_step: 3 }
    }
}

impl Caps {
    /// Takes each non-zero field of a request's caps over these.
    pub fn overridden_by(self, max_report_rounds: u32, max_tool_calls: u32, max_rejections_per_step: u32) -> Self {
        let pick = |req: u32, default: u32| if req == 0 { default } else { req };
        Self {
            max_report_rounds: pick(max_report_rounds, self.max_report_rounds),
            max_tool_calls: pick(max_tool_calls, self.max_tool_calls),
            max_rejections_per_step: pick(max_rejections_per_step, self.max_rejections_per_step),
        }
    }

    /// Every cap must allow at least one step.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_report_rounds == 0 || self.max_tool_calls == 0 || self.max_rejections_per_step == 0 {
            return Err("supervisor: caps must all be > 0".into());
        }
        Ok(())
    }
}
