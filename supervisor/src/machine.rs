//! The supervisor's three-state machine for one trajectory.
//!
//! Intent from the user agent, then a research session in which every step the
//! agent proposes is checked — Check Plan, Check Toolcall (deterministic checks
//! first, then the model), Check Report (against the rubric) — and answered with
//! a verdict. Rejected reports start the next round, up to the round cap. Every
//! event is recorded before the verdict goes back to the agent.

use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use productresearch_llm::LlmClient;
use productresearch_record::{
    EventBody, Step, StepKind, SupervisorState, Termination, TerminationReason, ToolCall, Trajectory, TrajectoryEvent, UserHistory, Verdict,
};
use tokio::sync::mpsc;
use tracing::{Instrument, info, info_span};

use crate::caps::Caps;
use crate::check::CallChecker;
use crate::error::Error;
use crate::mesh::{AgentMessage, Mesh, MeshError, StartSession};
use crate::recorder::Recorder;
use crate::trajectory_id::trajectory_id;
use crate::verdict;

/// Synthesizes trajectories.
pub struct Supervisor<M> {
    mesh: Arc<M>,
    llm: LlmClient,
    caps: Caps,
    records_dir: PathBuf,
}

impl<M> Clone for Supervisor<M> {
    fn clone(&self) -> Self {
        Self { mesh: self.mesh.clone(), llm: self.llm.clone(), caps: self.caps, records_dir: self.records_dir.clone() }
    }
}

/// How the loop ended: the round it ended in and why.
struct End(u32, Termination);

impl End {
    fn new(round: u32, reason: TerminationReason, detail: impl Into<String>) -> Self {
        Self(round, Termination { reason, detail: detail.into() })
    }
    fn from_mesh(round: u32, e: MeshError) -> Self {
        Self::new(round, e.reason, e.detail)
    }
}

fn cancelled(round: u32) -> End {
    End::new(round, TerminationReason::Cancelled, "the caller stopped listening")
}

impl<M: Mesh> Supervisor<M> {
    /// A supervisor over `mesh`, judging with `llm`.
    pub fn new(mesh: Arc<M>, llm: LlmClient, caps: Caps, records_dir: PathBuf) -> Self {
        Self { mesh, llm, caps, records_dir }
    }

    /// The default caps.
    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Runs one trajectory to its end and returns the complete record. Only a
    /// record that cannot be written is an error; every failure of a model, a
    /// tool or a service ends the trajectory with a typed termination.
    pub async fn synthesize(
        &self,
        history: UserHistory,
        caps: Caps,
        listener: Option<mpsc::Sender<TrajectoryEvent>>,
    ) -> Result<Trajectory, Error> {
        history.validate().map_err(Error::InvalidRequest)?;
        let id = trajectory_id(&history, &caps, self.llm.model());
        let span = info_span!("trajectory", trajectory.id = %id, user.id = %history.user_id, gen_ai.agent.name = "supervisor");
        async {
            let mut record = Recorder::create(&self.records_dir, Trajectory::new(&id, &history.user_id), listener).await?;
            record.trajectory_mut().trace_id = productresearch_runtime::telemetry::current_trace_id().unwrap_or_default();
            record.trajectory_mut().models.insert("supervisor".into(), self.llm.model().to_string());
            let End(round, termination) = self.drive(&mut record, &history, caps).await?;
            info!(reason = ?termination.reason, detail = %termination.detail, round, "trajectory ended");
            // The caller may be gone (that is why we stopped); the log still gets the end.
            let _ = record.push(round, EventBody::Termination(termination)).await?;
            record.finish().await
        }
        .instrument(span)
        .await
    }

    async fn drive(&self, record: &mut Recorder, history: &UserHistory, caps: Caps) -> Result<End, Error> {
        let inferred = match self.mesh.infer_intent(history).await {
            Ok(i) => i,
            Err(e) => return Ok(End::from_mesh(0, e)),
        };
        record.trajectory_mut().models.insert("user-agent".into(), inferred.model.clone());
        let intent = inferred.intent;
        if record.push(0, EventBody::Intent(intent.clone())).await?.is_err() {
            return Ok(cancelled(0));
        }
        let specs = match self.mesh.list_tools().await {
            Ok(s) => s,
            Err(e) => return Ok(End::from_mesh(0, MeshError { reason: TerminationReason::ToolFailure, detail: e.detail })),
        };
        let mut checker = CallChecker::new(&specs);
        let start = StartSession {
            trajectory_id: record.trajectory().trajectory_id.clone(),
            intent: intent.clone(),
            transcript: Vec::new(),
            max_tool_calls: caps.max_tool_calls,
        };
        let mut link = match self.mesh.open_research(start).await {
            Ok(l) => l,
            Err(e) => return Ok(End::from_mesh(1, e)),
        };

        let mut state = Progress { round: 1, ..Progress::default() };
        loop {
            let step = match link.steps.next().await {
                Some(Ok(AgentMessage::Step(step))) => step,
                Some(Ok(AgentMessage::Failure(e))) | Some(Err(e)) => return Ok(End::from_mesh(state.round, e)),
                None => {
                    return Ok(End::new(
                        state.round,
                        TerminationReason::MeshFailure,
                        "research-agent ended the session before a report was approved",
                    ));
                }
            };
            if let Err(m) = step.validate() {
                return Ok(End::new(state.round, TerminationReason::MeshFailure, format!("research-agent sent an invalid step: {m}")));
            }
            if !step.model.is_empty() {
                record.trajectory_mut().models.insert("research-agent".into(), step.model.clone());
            }
            if step.kind == StepKind::ToolCall && state.approved_calls >= caps.max_tool_calls {
                let _ = record.push(state.round, EventBody::Step(step)).await?;
                return Ok(End::new(state.round, TerminationReason::Budget, format!("tool call cap of {} reached", caps.max_tool_calls)));
            }
            let verdict = match self.check(&intent, &step, &checker, &state).await {
                Ok(v) => v,
                Err(detail) => {
                    let _ = record.push(state.round, EventBody::Step(step)).await?;
                    return Ok(End::new(state.round, TerminationReason::ModelFailure, detail));
                }
            };
            let round = state.round;
            if record.push(round, EventBody::Step(step.clone())).await?.is_err()
                || record.push(round, EventBody::Verdict(verdict.clone())).await?.is_err()
            {
                return Ok(cancelled(round));
            }
            let end = state.apply(&step, &verdict, &caps, &mut checker);
            if link.verdicts.send(verdict).await.is_err() && end.is_none() {
                return Ok(End::new(round, TerminationReason::MeshFailure, "research-agent closed the session"));
            }
            if let Some(end) = end {
                return Ok(end);
            }
        }
    }

    /// The verdict on one step: deterministic checks first, then the model.
    async fn check(
        &self,
        intent: &productresearch_record::Intent,
        step: &Step,
        checker: &CallChecker,
        state: &Progress,
    ) -> Result<Verdict, String> {
        let attempt = state.attempt(step.kind);
        match step.kind {
            StepKind::ToolResult => return Ok(Verdict::approve(SupervisorState::CheckToolcall)),
            StepKind::ToolCall => {
                if let Some(feedback) = step.tool_call.as_ref().and_then(|c| checker.check(c)) {
                    return Ok(Verdict::revise(SupervisorState::CheckToolcall, feedback));
                }
            }
            StepKind::Plan | StepKind::Report => {}
        }
        verdict::ask(&self.llm, intent, step, attempt, &state.evidence).await.map_err(|e| format!("supervisor model: {e}"))
    }
}

/// Counters of one session.
#[derive(Default)]
struct Progress {
    round: u32,
    plan_attempts: u32,
    reports: u32,
    approved_calls: u32,
    call_rejections_in_a_row: u32,
    last_approved_call: Option<ToolCall>,
    /// One line per executed call, for the model's checks.
    evidence: Vec<String>,
}

impl Progress {
    /// Which try of its kind `kind`'s next step is (1 for the first).
    fn attempt(&self, kind: StepKind) -> u32 {
        match kind {
            StepKind::Plan => self.plan_attempts + 1,
            StepKind::ToolCall => self.call_rejections_in_a_row + 1,
            StepKind::ToolResult => 1,
            StepKind::Report => self.reports + 1,
        }
    }

    /// Updates the counters with a recorded verdict; `Some` ends the trajectory.
    fn apply(&mut self, step: &Step, verdict: &Verdict, caps: &Caps, checker: &mut CallChecker) -> Option<End> {
        let approved = verdict.approved();
        match step.kind {
            StepKind::Plan => {
                self.plan_attempts += 1;
                if !approved && self.plan_attempts >= caps.max_rejections_per_step {
                    return Some(End::new(self.round, TerminationReason::Budget, format!("plan rejected {} times", self.plan_attempts)));
                }
            }
            StepKind::ToolCall => {
                let call = step.tool_call.as_ref().expect("validated");
                if approved {
                    self.approved_calls += 1;
                    self.call_rejections_in_a_row = 0;
                    checker.record(call);
                    self.last_approved_call = Some(call.clone());
                } else {
                    self.call_rejections_in_a_row += 1;
                    if self.call_rejections_in_a_row >= caps.max_rejections_per_step {
                        return Some(End::new(
                            self.round,
                            TerminationReason::Budget,
                            format!("{} tool calls in a row rejected", self.call_rejections_in_a_row),
                        ));
                    }
                }
            }
            StepKind::ToolResult => {
                let result = step.tool_result.as_ref().expect("validated");
                let args = self.last_approved_call.as_ref().map(|c| c.arguments.as_str()).unwrap_or("");
                let status = if result.is_error { "error" } else { "ok" };
                self.evidence.push(format!("- {}({}) -> {status}, {} chars", result.name, args, result.content.len()));
            }
            StepKind::Report => {
                self.reports += 1;
                if approved {
                    return Some(End::new(self.round, TerminationReason::Approved, format!("report approved in round {}", self.round)));
                }
                if self.reports >= caps.max_report_rounds {
                    return Some(End::new(
                        self.round,
                        TerminationReason::RoundCap,
                        format!("no report approved in {} rounds", caps.max_report_rounds),
                    ));
                }
                self.round += 1;
            }
        }
        None
    }
}
