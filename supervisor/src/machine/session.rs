//! One research session: each step the agent proposes is checked (Check
//! Plan, Check Toolcall, Check Report), recorded with its verdict, and the
//! verdict sent back with where the agent's next step goes. A tool result is
//! recorded without a verdict round trip unless results are checked.

use futures::StreamExt;
use productresearch_llm::LlmError;
use productresearch_record::{
    EventBody, FailureClass, FailureKind, Intent, Step, StepKind, SupervisorState, Termination, TerminationReason, Trajectory, Verdict,
};
use tracing::{Instrument, warn};

use super::Supervisor;
use super::counters::Counters;
use super::end::{End, cancelled, classify, deadline_passed};
use crate::caps::Caps;
use crate::check::{CallChecker, Feedback, degenerate, unusable_result, usable_results};
use crate::error::Error;
use crate::mesh::{AgentMessage, Mesh, MeshError, Position, ResearchLink, VerdictMessage};
use crate::recorder::Recorder;
use crate::resume::GaveUp;
use crate::verdict;

/// How one research session ended.
pub(super) enum Flow {
    /// The trajectory ended.
    End(End),
    /// The session broke (resumable when the error is transient).
    Broken(MeshError),
    /// A report was approved and the intent has a follow-up: the next turn.
    NextTurn,
}

impl<M: Mesh> Supervisor<M> {
    /// Drives one research session until the trajectory ends or the session
    /// breaks.
    pub(super) async fn session(
        &self,
        record: &mut Recorder,
        intent: &Intent,
        link: &mut ResearchLink,
        state: &mut Counters,
        caps: &Caps,
        checker: &mut CallChecker,
    ) -> Result<Flow, Error> {
        let mut rounds = productresearch_runtime::telemetry::genai::Rounds::new("supervisor", &record.trajectory().trajectory_id);
        loop {
            let (step, traceparent) = match link.steps.next().await {
                Some(Ok(AgentMessage::Step(step))) => (step, String::new()),
                Some(Ok(AgentMessage::TracedStep { step, traceparent })) => (step, traceparent),
                Some(Ok(AgentMessage::Failure(e))) | Some(Err(e)) => return Ok(Flow::Broken(e)),
                None => {
                    return Ok(Flow::Broken(MeshError::transient(
                        TerminationReason::MeshFailure,
                        "research-agent ended the session before a report was approved",
                    )));
                }
            };
            if let Err(m) = step.validate() {
                return Ok(Flow::End(End(
                    state.round,
                    Termination::failure(
                        FailureClass { kind: FailureKind::Protocol, transient: false },
                        format!("research-agent sent an invalid step: {m}"),
                    ),
                )));
            }
            if !step.model.is_empty() {
                record.trajectory_mut().models.insert("research-agent".into(), step.model.clone());
            }
            if let Some(end) = state.over_budget(&step, record.trajectory(), caps) {
                let _ = record.push(state.round, EventBody::Step(step)).await?;
                return Ok(Flow::End(end));
            }
            // Without a result check a result is recorded as it comes: its
            // approval goes into the record (every step has its verdict
            // there) but not back to the agent, which is already working on
            // its next step.
            let judged = step.kind != StepKind::ToolResult || !self.skips_result_verdicts(link);
            if !judged {
                let round = state.round;
                let verdict = Verdict::approve(SupervisorState::CheckToolcall);
                let step_seen = record.push(round, EventBody::Step(step.clone())).await?;
                let verdict_seen = record.push(round, EventBody::Verdict(verdict.clone())).await?;
                if step_seen.is_err() || verdict_seen.is_err() {
                    return Ok(Flow::End(cancelled(round)));
                }
                if let Some(end) = state.apply(&step, &verdict, caps, checker) {
                    return Ok(Flow::End(end));
                }
                continue;
            }
            let span = crate::spans::verdict_span(&mut rounds, &step, &traceparent, state.round, state.attempt(step.kind));
            // The supervisor's own model: a transient failure is waited out
            // with the agent holding its step, as long as the patience lasts.
            let mut clock = self.resume.clock();
            let verdict = loop {
                let e = match self.check(intent, &step, record.trajectory(), checker, state, caps).instrument(span.clone()).await {
                    Ok(v) => {
                        crate::spans::record_verdict(&span, &step, &v, state.round);
                        break v;
                    }
                    Err(e) => e,
                };
                productresearch_runtime::telemetry::genai::record_error(&span, e.kind());
                if e.is_endpoint_broken() {
                    return Err(Error::EndpointBroken(e.to_string()));
                }
                let gave_up = match e.is_transient() {
                    true => clock.wait().await.err(),
                    false => Some(GaveUp::Patience),
                };
                match gave_up {
                    None => warn!(error = %e, "supervisor model failed transiently; retrying the check"),
                    Some(GaveUp::Deadline) => return Ok(Flow::End(deadline_passed(state.round))),
                    Some(GaveUp::Patience) => {
                        let _ = record.push(state.round, EventBody::Step(step)).await?;
                        return Ok(Flow::End(End(state.round, Termination::failure(classify(&e), format!("supervisor model: {e}")))));
                    }
                }
            };
            let round = state.round;
            // Both go into the log even when the caller is gone, so a resumed
            // run does not pay for this verdict again.
            let step_seen = record.push(round, EventBody::Step(step.clone())).await?;
            let verdict_seen = record.push(round, EventBody::Verdict(verdict.clone())).await?;
            if step_seen.is_err() || verdict_seen.is_err() {
                return Ok(Flow::End(cancelled(round)));
            }
            let end = state.apply(&step, &verdict, caps, checker);
            let next = Position { seq: record.trajectory().events.len() as u64, round: state.round };
            // The result of an approved call takes its place and its
            // recorded approval's; the agent's next step comes after both.
            let after_result = (step.kind == StepKind::ToolCall && verdict.approved() && self.skips_result_verdicts(link))
                .then_some(Position { seq: next.seq + 2, round: next.round });
            let delivered = link.verdicts.send(Box::new(VerdictMessage { verdict, next, after_result })).await.is_ok();
            if let Some(end) = end {
                return Ok(if state.turn_follows(&end, intent) { Flow::NextTurn } else { Flow::End(end) });
            }
            if !delivered {
                return Ok(Flow::Broken(MeshError::transient(TerminationReason::MeshFailure, "research-agent closed the session")));
            }
        }
    }

    /// Whether a tool result goes without a verdict: no result check is
    /// configured, and the agent said it goes on without one.
    fn skips_result_verdicts(&self, link: &ResearchLink) -> bool {
        !self.check_results && link.agent_skips_result_verdicts()
    }

    /// The verdict on one step of `trajectory` (as recorded so far):
    /// deterministic checks first, then the model.
    async fn check(
        &self,
        intent: &Intent,
        step: &Step,
        trajectory: &Trajectory,
        checker: &CallChecker,
        state: &Counters,
        caps: &Caps,
    ) -> Result<Verdict, LlmError> {
        let attempt = state.attempt(step.kind);
        match step.kind {
            StepKind::ToolResult => {
                return match step.tool_result.as_ref().and_then(unusable_result) {
                    Some(feedback) => self.sent_back(SupervisorState::CheckToolcall, &feedback),
                    None => Ok(Verdict::approve(SupervisorState::CheckToolcall)),
                };
            }
            StepKind::ToolCall => {
                let call = step.tool_call.as_ref();
                let feedback = call.and_then(|c| state.loops(c, caps).or_else(|| checker.check(c, &usable_results(trajectory))));
                if let Some(feedback) = feedback.or_else(|| degenerate(&step.reasoning, caps)) {
                    return self.sent_back(SupervisorState::CheckToolcall, &feedback);
                }
                if !self.model_call_checks {
                    return Ok(Verdict::approve(SupervisorState::CheckToolcall));
                }
            }
            StepKind::Plan => {
                if let Some(feedback) = self.texts.plan(&step.text, caps) {
                    return self.sent_back(SupervisorState::CheckPlan, &feedback);
                }
            }
            StepKind::Report => {
                let calls_left = caps.max_tool_calls.saturating_sub(state.approved_calls);
                let feedback = self.texts.report(&step.text, state.results, calls_left, trajectory, caps);
                if let Some(feedback) = feedback.or_else(|| self.texts.grounding(trajectory, &step.text)) {
                    return self.sent_back(SupervisorState::CheckReport, &feedback);
                }
            }
        }
        verdict::ask(&self.llm, &self.prompts, intent, step, attempt, &state.evidence).await
    }

    /// A deterministic rejection: `feedback` rendered from its template, which
    /// the verdict names like a model verdict names its prompts. A template
    /// that does not render is a bad prompt, as for the model's checks.
    fn sent_back(&self, state: SupervisorState, feedback: &Feedback) -> Result<Verdict, LlmError> {
        let said = feedback.render(&self.prompts).map_err(|e| LlmError::Unusable(e.to_string()))?;
        Ok(Verdict { prompts: said.prompts, ..Verdict::revise(state, said.text) })
    }
}
