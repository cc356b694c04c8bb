//! The supervisor's three-state machine for one trajectory.
//!
//! Intent from the user agent, then a research session in which every step the
//! agent proposes is checked — Check Plan, Check Toolcall (deterministic checks
//! first, then the model), Check Report (against the rubric) — and answered with
//! a verdict. Rejected reports start the next round, up to the round cap. Every
//! event is recorded before the verdict goes back to the agent, so the record
//! is a checkpoint: a trajectory whose record exists is resumed from its last
//! recorded verdict (the agent re-opened with the transcript), one whose record
//! ends with a termination is returned as it is.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use productresearch_llm::{LlmClient, LlmError};
use productresearch_record::{
    BudgetKind, Decision, EventBody, FailureClass, FailureKind, Intent, Step, StepKind, SupervisorState, Termination, TerminationReason,
    ToolCall, Trajectory, TrajectoryEvent, UserHistory, UserTurn, Verdict,
};
use tokio::sync::mpsc;
use tracing::{Instrument, info, warn};

use crate::caps::Caps;
use crate::check::{CallChecker, TextChecker, degenerate, unusable_result};
use crate::error::Error;
use crate::mesh::{AgentMessage, Mesh, MeshError, Position, ResearchLink, StartSession, ToolList, VerdictMessage};
use crate::recorder::{ListenerGone, Recorder};
use crate::resume::{GaveUp, Resume};
use crate::store::{Fsync, LocalStore, RecordStore};
use crate::trajectory_id::trajectory_id;
use crate::verdict;

/// Synthesizes trajectories.
pub struct Supervisor<M> {
    mesh: Arc<M>,
    llm: LlmClient,
    caps: Caps,
    store: Arc<dyn RecordStore>,
    resume: Resume,
    /// Prompt templates of the verdict checks.
    prompts: productresearch_prompts::PromptSet,
    /// Trajectories being synthesized in this process: a second call for the
    /// same id waits for the first, so one log never has two writers.
    in_flight: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// Tool argument schemas, compiled once for all trajectories.
    schemas: Arc<productresearch_llm::Validators>,
    /// Deterministic checks of plans and reports.
    texts: Arc<TextChecker>,
    /// Approved tool calls with results a report needs.
    min_report_tool_calls: u32,
    /// The tools, listed once for a batch ([`Supervisor::listing_tools_once`]);
    /// `None`: each trajectory lists them.
    tools: Option<Arc<ToolList>>,
    /// Tool results are checked ([`unusable_result`]) and the verdict goes
    /// back to the agent; off: results are recorded without a round trip.
    check_results: bool,
}

impl<M> Clone for Supervisor<M> {
    fn clone(&self) -> Self {
        Self {
            mesh: self.mesh.clone(),
            llm: self.llm.clone(),
            caps: self.caps,
            store: self.store.clone(),
            resume: self.resume,
            prompts: self.prompts.clone(),
            in_flight: self.in_flight.clone(),
            schemas: self.schemas.clone(),
            texts: self.texts.clone(),
            min_report_tool_calls: self.min_report_tool_calls,
            tools: self.tools.clone(),
            check_results: self.check_results,
        }
    }
}

/// How the loop ended: the round it ended in and why.
struct End(u32, Termination);

impl End {
    fn new(round: u32, reason: TerminationReason, detail: impl Into<String>) -> Self {
        Self(round, Termination::new(reason, detail))
    }
    fn budget(round: u32, kind: BudgetKind, detail: impl Into<String>) -> Self {
        Self(round, Termination::budget(kind, detail))
    }
    /// How `e` ends the trajectory; a broken model endpoint ends the call
    /// instead (no trajectory can progress; the record stays resumable).
    fn from_mesh(round: u32, e: MeshError) -> Result<Self, Error> {
        if e.endpoint_broken {
            return Err(Error::EndpointBroken(e.detail));
        }
        if e.reason == TerminationReason::Cancelled {
            return Ok(Self::new(round, e.reason, e.detail));
        }
        Ok(Self(round, Termination::failure(e.class(), e.detail)))
    }

    /// `e` ended the trajectory after retries: when the caller's deadline
    /// stopped them, the trajectory is the caller's to resume, not a failure.
    fn gave_up(round: u32, e: MeshError, why: GaveUp) -> Result<Self, Error> {
        match why {
            GaveUp::Deadline => Ok(deadline_passed(round)),
            GaveUp::Patience => Self::from_mesh(round, e),
        }
    }
}

fn deadline_passed(round: u32) -> End {
    End::new(round, TerminationReason::Cancelled, "the caller's deadline passed")
}

/// True once the deadline of the call being served has passed.
fn past_deadline() -> bool {
    productresearch_runtime::context::deadline().is_some_and(|d| d <= std::time::Instant::now())
}

fn cancelled(round: u32) -> End {
    End::new(round, TerminationReason::Cancelled, "the caller stopped listening")
}

/// How one research session ended.
enum Flow {
    /// The trajectory ended.
    End(End),
    /// The session broke (resumable when the error is transient).
    Broken(MeshError),
    /// A report was approved and the intent has a follow-up: the next turn.
    NextTurn,
}

impl<M: Mesh> Supervisor<M> {
    /// A supervisor over `mesh`, judging with `llm`, recording into the local
    /// folder `records_dir`.
    pub fn new(mesh: Arc<M>, llm: LlmClient, caps: Caps, records_dir: impl AsRef<Path>) -> Self {
        let store = Arc::new(LocalStore::new(records_dir.as_ref(), Fsync::default()));
        Self {
            mesh,
            llm,
            caps,
            store,
            resume: Resume::default(),
            prompts: Default::default(),
            in_flight: Default::default(),
            schemas: Default::default(),
            texts: Arc::new(TextChecker::new(&Default::default(), 0)),
            min_report_tool_calls: 0,
            tools: None,
            check_results: false,
        }
    }

    /// Checks every tool result (a tool error or an empty result is sent
    /// back) instead of recording it as it comes (off by default).
    pub fn with_result_check(mut self, on: bool) -> Self {
        self.check_results = on;
        self
    }

    /// A copy whose trajectories share one tool list, fetched here once (a
    /// batch's). When the gateway does not answer now, each trajectory lists
    /// the tools itself, with its retries, as without this.
    pub async fn listing_tools_once(&self) -> Self {
        let mut this = self.clone();
        match self.mesh.list_tools().await {
            Ok(list) => this.tools = Some(Arc::new(list)),
            Err(e) => warn!(error = %e.detail, "cannot list the tools for the batch; each trajectory lists them"),
        }
        this
    }

    /// Records into `store` instead.
    pub fn with_store(mut self, store: Arc<dyn RecordStore>) -> Self {
        self.store = store;
        self
    }

    /// Retries and resumes with `resume`.
    pub fn with_resume(mut self, resume: Resume) -> Self {
        self.resume = resume;
        self
    }

    /// Judges with these prompt templates instead of the built-in ones.
    pub fn with_prompts(mut self, prompts: productresearch_prompts::PromptSet) -> Self {
        self.texts = Arc::new(TextChecker::new(&prompts, self.min_report_tool_calls));
        self.prompts = prompts;
        self
    }

    /// Sends back, before any model verdict, a report resting on fewer than
    /// `n` approved tool calls with results: the distiller's `min_tool_calls`,
    /// so an approved report is never dropped for it (0: off, the default).
    pub fn with_min_report_tool_calls(mut self, n: u32) -> Self {
        self.min_report_tool_calls = n;
        self.texts = Arc::new(TextChecker::new(&self.prompts, n));
        self
    }

    /// The default caps.
    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Runs one trajectory to its end and returns the complete record. Only a
    /// record that cannot be written is an error; every failure of a model, a
    /// tool or a service ends the trajectory with a typed termination. A
    /// trajectory already finished in the store is returned without any call;
    /// an unfinished one continues after its last recorded verdict. A cancelled
    /// trajectory (the caller went away) is not ended in the store, so the next
    /// run resumes it; only the returned record carries the cancellation.
    pub async fn synthesize(
        &self,
        history: UserHistory,
        caps: Caps,
        listener: Option<mpsc::Sender<TrajectoryEvent>>,
    ) -> Result<Trajectory, Error> {
        history.validate().map_err(Error::InvalidRequest)?;
        let id = trajectory_id(&history, &caps, self.llm.model());
        let _one_writer = self.lock(&id).await;
        let span = productresearch_runtime::telemetry::genai::trajectory_span(&id, &history.user_id);
        let run = async {
            let mut record = match Recorder::open(self.store.as_ref(), Trajectory::new(&id, &history.user_id), listener).await? {
                Ok(r) => r,
                Err(ListenerGone) => {
                    let mut t = Trajectory::new(&id, &history.user_id);
                    let End(round, termination) = cancelled(0);
                    t.push(round, EventBody::Termination(termination));
                    return Ok(t);
                }
            };
            fill_models(record.trajectory_mut(), self.llm.model());
            // A transient failure is not an end: a re-run resumes it.
            if record.trajectory().termination().and_then(|t| t.failure).is_some_and(|f| f.transient) {
                info!("trajectory ended on a transient failure; resuming it");
                let keep = record.trajectory().events.len() - 1;
                record.truncate(keep).await?;
            }
            if record.trajectory().termination().is_some() {
                info!(events = record.trajectory().events.len(), "trajectory already finished; not run again");
                return record.finish().await;
            }
            // A step whose verdict was never recorded is proposed again.
            if let Some(EventBody::Step(_)) = record.trajectory().events.last().map(|e| &e.body) {
                let keep = record.trajectory().events.len() - 1;
                record.truncate(keep).await?;
            }
            if !record.trajectory().events.is_empty() {
                info!(events = record.trajectory().events.len(), "resuming trajectory from its record");
            }
            record.trajectory_mut().trace_id = productresearch_runtime::telemetry::current_trace_id().unwrap_or_default();
            productresearch_runtime::telemetry::metrics::trajectory_started();
            let End(round, mut termination) = self.drive(&mut record, &history, caps).await?;
            // A failure once the caller's deadline passed is the caller's doing
            // (a callee got no time left): not recorded, resumed next time.
            if termination.failure.is_some() && past_deadline() {
                termination =
                    Termination::new(TerminationReason::Cancelled, format!("the caller's deadline passed ({})", termination.detail));
            }
            crate::spans::record_end(&tracing::Span::current(), record.trajectory(), round, &termination);
            info!(reason = ?termination.reason, budget = ?termination.budget, failure = ?termination.failure, detail = %termination.detail, round, "trajectory ended");
            if termination.reason == TerminationReason::Cancelled {
                let mut t = record.trajectory().clone();
                t.push(round, EventBody::Termination(termination));
                return Ok(t);
            }
            // The caller may be gone; the log still gets the end.
            let _ = record.push(round, EventBody::Termination(termination)).await?;
            record.finish().await
        };
        // Every call below (agents, tools, the model) names the trajectory.
        productresearch_runtime::context::with_trajectory(Some(id.as_str().into()), run).instrument(span).await
    }

    async fn lock(&self, id: &str) -> InFlight {
        let slot = self.in_flight.lock().expect("in-flight map").entry(id.to_string()).or_default().clone();
        let guard = slot.clone().lock_owned().await;
        InFlight { map: self.in_flight.clone(), id: id.to_string(), slot, _guard: guard }
    }

    /// Retries `call` while it fails transiently, as long as the patience
    /// lasts; `Err` with how it gave up otherwise.
    async fn retried<T, F: Future<Output = Result<T, MeshError>>>(
        &self,
        what: &str,
        mut call: impl FnMut() -> F,
    ) -> Result<T, (MeshError, GaveUp)> {
        let mut clock = self.resume.clock();
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) if e.transient => {
                    warn!(what, attempt = clock.attempts(), error = %e.detail, "transient failure; retrying");
                    if let Err(why) = clock.wait().await {
                        return Err((e, why));
                    }
                }
                // Permanent: no wait to give up on.
                Err(e) => return Err((e, GaveUp::Patience)),
            }
        }
    }

    async fn drive(&self, record: &mut Recorder, history: &UserHistory, caps: Caps) -> Result<End, Error> {
        let intent = match record.trajectory().intent().cloned() {
            Some(intent) => intent,
            None => {
                let inferred = match self.retried("infer intent", || self.mesh.infer_intent(history)).await {
                    Ok(i) => i,
                    Err((e, why)) => return End::gave_up(0, e, why),
                };
                record.trajectory_mut().models.insert("user-agent".into(), inferred.model.clone());
                record.trajectory_mut().add_prompts(&inferred.prompts);
                crate::spans::record_intent_usage(&inferred.usage);
                if record.push(0, EventBody::Intent(inferred.intent.clone())).await?.is_err() {
                    return Ok(cancelled(0));
                }
                inferred.intent
            }
        };
        let tools = match &self.tools {
            Some(listed) => listed.clone(),
            None => match self.retried("list tools", || self.mesh.list_tools()).await {
                Ok(listed) => Arc::new(listed),
                Err((e, why)) => return End::gave_up(0, MeshError { reason: TerminationReason::ToolFailure, ..e }, why),
            },
        };
        record.trajectory_mut().tool_snapshot = tools.snapshot.clone();
        let mut checker = CallChecker::new(&tools.specs, &self.schemas);
        let mut state = Progress { round: 1, ..Progress::default() };
        // Counters and the checker's memory as they were after the last verdict.
        let mut turn_due = false;
        let mut pending: Option<&Step> = None;
        for event in &record.trajectory().events {
            match &event.body {
                EventBody::Step(step) => pending = Some(step),
                EventBody::Verdict(verdict) => {
                    let Some(step) = pending.take() else { continue };
                    if let Some(end) = state.apply(step, verdict, &caps, &mut checker) {
                        if state.turn_follows(&end, &intent) {
                            turn_due = true;
                        } else {
                            // The log ended between a deciding verdict and its termination.
                            return Ok(end);
                        }
                    }
                }
                EventBody::UserTurn(_) => {
                    state.next_turn();
                    turn_due = false;
                }
                EventBody::Intent(_) | EventBody::Termination(_) => {}
            }
        }
        if turn_due && self.start_turn(record, &intent, &mut state).await?.is_err() {
            return Ok(cancelled(state.round));
        }

        let mut clock = self.resume.clock();
        let mut broken_with_progress = 0;
        loop {
            let recorded = record.trajectory().events.len();
            let start = StartSession {
                trajectory_id: record.trajectory().trajectory_id.clone(),
                intent: intent.clone(),
                transcript: record
                    .trajectory()
                    .events
                    .iter()
                    .filter(|e| matches!(e.body, EventBody::Step(_) | EventBody::Verdict(_) | EventBody::UserTurn(_)))
                    .cloned()
                    .collect(),
                max_tool_calls: caps.max_tool_calls,
                min_tool_calls: self.min_report_tool_calls,
                tools: tools.specs.clone(),
                skip_result_verdicts: !self.check_results,
                next: Position { seq: recorded as u64, round: state.round },
            };
            let turn_intent = state.turn_intent(&intent);
            let outcome = match self.mesh.open_research(start).await {
                Ok(mut link) => self.session(record, &turn_intent, &mut link, &mut state, &caps, &mut checker).await?,
                Err(e) => Flow::Broken(e),
            };
            let e = match outcome {
                Flow::End(end) => return Ok(end),
                Flow::NextTurn => {
                    if self.start_turn(record, &intent, &mut state).await?.is_err() {
                        return Ok(cancelled(state.round));
                    }
                    continue;
                }
                Flow::Broken(e) => e,
            };
            if e.endpoint_broken {
                return Err(Error::EndpointBroken(e.detail));
            }
            if record.trajectory().events.len() > recorded {
                clock.progress();
                broken_with_progress += 1;
            }
            // An agent that breaks off again and again, progress or not, is not resumed forever.
            if !e.transient || broken_with_progress >= self.resume.max_sessions {
                return End::from_mesh(state.round, e);
            }
            warn!(attempt = clock.attempts(), error = %e.detail, "research session broke; resuming from the record");
            if let Err(why) = clock.wait().await {
                return End::gave_up(state.round, e, why);
            }
        }
    }

    /// Records the user's next turn and moves the counters to it.
    async fn start_turn(&self, record: &mut Recorder, intent: &Intent, state: &mut Progress) -> Result<Result<(), ListenerGone>, Error> {
        let follow_up = intent.follow_ups[state.turn as usize].clone();
        state.next_turn();
        info!(turn = state.turn, "next user turn");
        record.push(state.round, EventBody::UserTurn(UserTurn { turn: state.turn, follow_up })).await
    }

    /// Drives one research session until the trajectory ends or the session
    /// breaks.
    async fn session(
        &self,
        record: &mut Recorder,
        intent: &Intent,
        link: &mut ResearchLink,
        state: &mut Progress,
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
            let judged = step.kind != StepKind::ToolResult || self.check_results;
            if !judged {
                let round = state.round;
                let verdict = Verdict::approve(SupervisorState::CheckToolcall);
                let step_seen = record.push(round, EventBody::Step(step.clone())).await?;
                let verdict_seen = record.push(round, EventBody::Verdict(verdict.clone())).await?;
                if step_seen.is_err() || verdict_seen.is_err() {
                    return Ok(Flow::End(cancelled(round)));
                }
                state.apply(&step, &verdict, caps, checker);
                continue;
            }
            let span = crate::spans::verdict_span(&mut rounds, &step, &traceparent, state.round, state.attempt(step.kind));
            // The supervisor's own model: a transient failure is waited out
            // with the agent holding its step, as long as the patience lasts.
            let mut clock = self.resume.clock();
            let verdict = loop {
                let e = match self.check(intent, &step, checker, state, caps).instrument(span.clone()).await {
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
            let after_result = (step.kind == StepKind::ToolCall && verdict.approved() && !self.check_results)
                .then_some(Position { seq: next.seq + 2, round: next.round });
            let delivered = link.verdicts.send(VerdictMessage { verdict, next, after_result }).await.is_ok();
            if let Some(end) = end {
                return Ok(if state.turn_follows(&end, intent) { Flow::NextTurn } else { Flow::End(end) });
            }
            if !delivered {
                return Ok(Flow::Broken(MeshError::transient(TerminationReason::MeshFailure, "research-agent closed the session")));
            }
        }
    }

    /// The verdict on one step: deterministic checks first, then the model.
    async fn check(&self, intent: &Intent, step: &Step, checker: &CallChecker, state: &Progress, caps: &Caps) -> Result<Verdict, LlmError> {
        let attempt = state.attempt(step.kind);
        match step.kind {
            StepKind::ToolResult => {
                let feedback = step.tool_result.as_ref().and_then(unusable_result);
                return Ok(match feedback {
                    Some(feedback) => Verdict::revise(SupervisorState::CheckToolcall, feedback),
                    None => Verdict::approve(SupervisorState::CheckToolcall),
                });
            }
            StepKind::ToolCall => {
                if let Some(feedback) = step.tool_call.as_ref().and_then(|c| checker.check(c)).or_else(|| degenerate(&step.reasoning)) {
                    return Ok(Verdict::revise(SupervisorState::CheckToolcall, feedback));
                }
            }
            StepKind::Plan => {
                if let Some(feedback) = self.texts.plan(&step.text) {
                    return Ok(Verdict::revise(SupervisorState::CheckPlan, feedback));
                }
            }
            StepKind::Report => {
                let calls_left = caps.max_tool_calls.saturating_sub(state.approved_calls);
                if let Some(feedback) = self.texts.report(&step.text, state.results, calls_left, &state.feedback) {
                    return Ok(Verdict::revise(SupervisorState::CheckReport, feedback));
                }
            }
        }
        verdict::ask(&self.llm, &self.prompts, intent, step, attempt, &state.evidence).await
    }
}

/// Holds a trajectory id for one writer; the last holder removes the entry.
struct InFlight {
    map: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    id: String,
    slot: Arc<tokio::sync::Mutex<()>>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut map = self.map.lock().expect("in-flight map");
        // The map's reference, ours and the guard's: nobody else waits.
        if Arc::strong_count(&self.slot) <= 3 {
            map.remove(&self.id);
        }
    }
}

/// Models known from the record itself (a resumed or finished trajectory).
fn fill_models(t: &mut Trajectory, supervisor_model: &str) {
    t.models.insert("supervisor".into(), supervisor_model.to_string());
    if let Some(model) = t.steps().iter().rev().map(|(_, s, _)| s.model.as_str()).find(|m| !m.is_empty()).map(str::to_string) {
        t.models.insert("research-agent".into(), model);
    }
}

/// The supervisor's own model failed: policy refusals (auth, content filters)
/// apart from other failures, transient ones marked by the mesh's one
/// definition (retries of a transient cause running out stay transient).
fn classify(e: &LlmError) -> FailureClass {
    let last = match e {
        LlmError::Exhausted { last, .. } => last.as_ref(),
        other => other,
    };
    let kind = match last {
        LlmError::Status { status: 401 | 403 | 451, .. } => FailureKind::Policy,
        _ => FailureKind::Model,
    };
    FailureClass { kind, transient: e.is_transient() }
}

/// Counters of one trajectory.
#[derive(Default)]
struct Progress {
    round: u32,
    /// User turn (0: the opening query; 1.. the intent's follow-ups).
    turn: u32,
    plan_attempts: u32,
    reports: u32,
    approved_calls: u32,
    /// Approved tool calls answered by their result, in the whole trajectory
    /// (what the distiller's `min_tool_calls` counts).
    results: u32,
    round_calls: u32,
    call_rejections_in_a_row: u32,
    last_approved_call: Option<ToolCall>,
    /// One line per executed call, for the model's checks.
    evidence: Vec<String>,
    /// Feedback sent back so far: a report that repeats it is no report.
    feedback: Vec<String>,
}

impl Progress {
    /// True when `end` is an approved report and the intent has a follow-up
    /// after the current turn.
    fn turn_follows(&self, end: &End, intent: &Intent) -> bool {
        end.1.reason == TerminationReason::Approved && (self.turn as usize) < intent.follow_ups.len()
    }

    /// Moves to the next user turn: a new round, and the per-turn counters
    /// (tool calls, reports, rejections) start over; tokens and wall time
    /// stay per trajectory.
    fn next_turn(&mut self) {
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
    fn turn_intent(&self, intent: &Intent) -> Intent {
        let mut turn = intent.clone();
        for f in intent.follow_ups.iter().take(self.turn as usize) {
            turn.query.push_str(&format!("\nFollow-up from the user: {}", f.message));
        }
        turn
    }

    /// Which try of its kind `kind`'s next step is (1 for the first).
    fn attempt(&self, kind: StepKind) -> u32 {
        match kind {
            StepKind::Plan => self.plan_attempts + 1,
            StepKind::ToolCall => self.call_rejections_in_a_row + 1,
            StepKind::ToolResult => 1,
            StepKind::Report => self.reports + 1,
        }
    }

    /// The budget `step` would overrun, checked before it costs a verdict.
    fn over_budget(&self, step: &Step, record: &Trajectory, caps: &Caps) -> Option<End> {
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

    /// Updates the counters with a recorded verdict; `Some` ends the trajectory.
    fn apply(&mut self, step: &Step, verdict: &Verdict, caps: &Caps, checker: &mut CallChecker) -> Option<End> {
        if verdict.decision != Decision::Approve && !verdict.feedback.is_empty() {
            self.feedback.push(verdict.feedback.clone());
        }
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
