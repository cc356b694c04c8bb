//! The counters of one trajectory as the state machine runs it: round, user
//! turn, attempts, approved calls and results, the evidence so far. They are rebuilt from the record on resume, verdict by verdict.

use std::collections::HashMap;

use productresearch_record::{
    BudgetKind, FailureClass, FailureKind, Intent, Step, StepKind, Termination, TerminationReason, ToolCall, Verdict,
};

use super::end::End;
use crate::caps::Caps;
use crate::check::{CallChecker, Feedback};

/// Counters of one trajectory.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) round: u32,
    /// User turn (0: the opening query; 1.. the intent's follow-ups).
    pub(super) turn: u32,
    pub(super) plan_attempts: u32,
    pub(super) reports: u32,
    pub(super) approved_calls: u32,
    /// Approved tool calls answered by their result, in the whole trajectory
    /// (what the distiller's `min_tool_calls` counts).
    pub(super) results: u32,
    pub(super) round_calls: u32,
    pub(super) call_rejections_in_a_row: u32,
    pub(super) last_approved_call: Option<ToolCall>,
    /// One line per executed call, for the model's checks.
    pub(super) evidence: Vec<String>,
    /// Proposals of each call ([`ToolCall::identity`]), rejected ones
    /// included, in the whole trajectory: the distiller's loop filter counts
    /// them the same way.
    pub(super) proposals: HashMap<(String, String), u32>,
}

impl Counters {
    /// True when `end` is an approved report and the intent has a follow-up
    /// after the current turn.
    pub(super) fn turn_follows(&self, end: &End, intent: &Intent) -> bool {
        end.1.reason == TerminationReason::Approved && (self.turn as usize) < intent.follow_ups.len()
    }

    /// Moves to the next user turn: a new round, and the per-turn counters
    /// (tool calls, reports, rejections) start over; tokens and wall time
    /// stay per trajectory.
    pub(super) fn next_turn(&mut self) {
        self.turn += 1;
        self.round += 1;
        self.plan_attempts = 0;
        self.reports = 0;
        self.approved_calls = 0;
        self.round_calls = 0;
        self.call_rejections_in_a_row = 0;
    }

    /// The intent as the supervisor's checks see it in the current turn: the
    /// query followed by the follow-ups so far.
    pub(super) fn turn_intent(&self, intent: &Intent) -> Intent {
        let mut turn = intent.clone();
        for f in intent.follow_ups.iter().take(self.turn as usize) {
            turn.query.push_str(&format!("\nFollow-up from the user: {}", f.message));
        }
        turn
    }

    /// Which try of its kind `kind`'s next step is (1 for the first).
    pub(super) fn attempt(&self, kind: StepKind) -> u32 {
        match kind {
            StepKind::Plan => self.plan_attempts + 1,
            StepKind::ToolCall => self.call_rejections_in_a_row + 1,
            StepKind::ToolResult => 1,
            StepKind::Report => self.reports + 1,
        }
    }

    /// Feedback when `call` would be proposed more often than
    /// `caps.max_identical_calls` allows: it is sent back, and recording that
    /// verdict ends the trajectory ([`Counters::apply`]), which the distiller
    /// would drop as a loop. So the proposal over the limit is never approved.
    pub(super) fn loops(&self, call: &ToolCall, caps: &Caps) -> Option<Feedback> {
        let proposed = self.proposals.get(&call.identity()).copied().unwrap_or(0);
        (caps.max_identical_calls > 0 && proposed >= caps.max_identical_calls).then(|| Feedback::repeated_proposal(&call.name, proposed))
    }

    /// Updates the counters with a recorded verdict; `Some` ends the trajectory.
    pub(super) fn apply(&mut self, step: &Step, verdict: &Verdict, caps: &Caps, checker: &mut CallChecker) -> Option<End> {
        let approved = verdict.approved();
        match step.kind {
            StepKind::Plan => {
                self.plan_attempts += 1;
                if !approved && self.plan_attempts >= caps.max_rejections_per_step {
                    return Some(End::budget(self.round, BudgetKind::Rejections, format!("plan rejected {} times", self.plan_attempts)));
                }
            }
            StepKind::ToolCall => {
                let call = step.tool_call.as_ref().expect("validated");
                let proposed = self.proposals.entry(call.identity()).or_default();
                *proposed += 1;
                if caps.max_identical_calls > 0 && *proposed > caps.max_identical_calls {
                    return Some(End::budget(
                        self.round,
                        BudgetKind::Rejections,
                        format!(
                            "{} {} proposed {proposed} times, more than caps.max_identical_calls ({}): a loop",
                            call.name, call.arguments, caps.max_identical_calls
                        ),
                    ));
                }
                if approved {
                    self.approved_calls += 1;
                    self.round_calls += 1;
                    self.call_rejections_in_a_row = 0;
                    checker.record(call);
                    self.last_approved_call = Some(call.clone());
                } else {
                    self.call_rejections_in_a_row += 1;
                    if self.call_rejections_in_a_row >= caps.max_rejections_per_step {
                        return Some(End::budget(
                            self.round,
                            BudgetKind::Rejections,
                            format!("{} tool calls in a row rejected", self.call_rejections_in_a_row),
                        ));
                    }
                }
            }
            StepKind::ToolResult => {
                let result = step.tool_result.as_ref().expect("validated");
                let args = self.last_approved_call.as_ref().map(|c| c.arguments.as_str()).unwrap_or("");
                let status = if result.is_error { "error" } else { "ok" };
                self.results += 1;
                self.evidence.push(format!("- {}({}) -> {status}, {} chars", result.name, args, result.content.len()));
                if result.is_error {
                    // A trajectory holding a tool error is no training data
                    // (the distiller drops it), so none of its report is
                    // approved: it ends here, before it costs more rounds.
                    let error = crate::check::quoted_error(result);
                    return Some(End(
                        self.round,
                        Termination::failure(
                            FailureClass { kind: FailureKind::Tool, transient: false },
                            format!("{} {} returned an error: {error}", result.name, result.call_id),
                        ),
                    ));
                }
                checker.remember_result(&result.content);
            }
            StepKind::Report => {
                self.reports += 1;
                if approved {
                    return Some(End::new(self.round, TerminationReason::Approved, format!("report approved in round {}", self.round)));
                }
                if self.reports >= caps.max_report_rounds {
                    return Some(End::budget(
                        self.round,
                        BudgetKind::ReportRounds,
                        format!("no report approved in {} rounds", caps.max_report_rounds),
                    ));
                }
                self.round += 1;
                self.round_calls = 0;
            }
        }
        None
    }
}
