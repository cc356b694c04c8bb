//! Budgets checked before a step costs a verdict: tool calls (per
//! trajectory and per round), tokens (in all and per role) and wall time.

use std::time::Duration;

use productresearch_record::{BudgetKind, EventBody, Step, StepKind, Trajectory};

use super::counters::Counters;
use super::end::End;
use crate::caps::Caps;

impl Counters {
    /// The budget `step` would overrun, checked before it costs a verdict.
    pub(super) fn over_budget(&self, step: &Step, record: &Trajectory, caps: &Caps) -> Option<End> {
        if step.kind == StepKind::ToolCall && self.approved_calls >= caps.max_tool_calls {
            return Some(End::budget(self.round, BudgetKind::ToolCalls, format!("tool call cap of {} reached", caps.max_tool_calls)));
        }
        if step.kind == StepKind::ToolCall && caps.max_round_tool_calls > 0 && self.round_calls >= caps.max_round_tool_calls {
            return Some(End::budget(
                self.round,
                BudgetKind::RoundToolCalls,
                format!("tool call cap of {} in round {} reached", caps.max_round_tool_calls, self.round),
            ));
        }
        let (mut agent, mut supervisor) = (step.usage.total(), 0u64);
        for e in &record.events {
            match &e.body {
                EventBody::Step(s) => agent += s.usage.total(),
                EventBody::Verdict(v) => supervisor += v.usage.total(),
                _ => {}
            }
        }
        if caps.max_tokens > 0 && agent + supervisor > caps.max_tokens {
            return Some(End::budget(
                self.round,
                BudgetKind::Tokens,
                format!("{} tokens used, budget {}", agent + supervisor, caps.max_tokens),
            ));
        }
        if caps.max_role_tokens > 0 {
            for (role, used) in [("research-agent", agent), ("supervisor", supervisor)] {
                if used > caps.max_role_tokens {
                    return Some(End::budget(
                        self.round,
                        BudgetKind::RoleTokens,
                        format!("{role} used {used} tokens, budget {}", caps.max_role_tokens),
                    ));
                }
            }
        }
        if caps.max_wall_secs > 0
            && let Some(age) = record.age()
            && age > Duration::from_secs(caps.max_wall_secs)
        {
            return Some(End::budget(
                self.round,
                BudgetKind::WallTime,
                format!("{:.0}s of wall time used, budget {}s", age.as_secs_f64(), caps.max_wall_secs),
            ));
        }
        None
    }
}
