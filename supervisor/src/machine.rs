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
//!
//! Here: the supervisor, one trajectory's drive loop and its resume from the
//! record; `session` runs one research session, `counters` and `budget` keep
//! the trajectory's counts and limits, `end` types how it ends.

mod budget;
mod counters;
mod end;
mod session;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use productresearch_llm::LlmClient;
use productresearch_record::{EventBody, Intent, Step, Termination, TerminationReason, Trajectory, TrajectoryEvent, UserHistory, UserTurn};
use tokio::sync::mpsc;
use tracing::{Instrument, debug, info, warn};

use self::counters::Counters;
use self::end::{End, cancelled, past_deadline};
use self::session::Flow;
use crate::caps::Caps;
use crate::check::{CallChecker, TextChecker};
use crate::error::Error;
use crate::mesh::{Mesh, MeshError, Position, StartSession, ToolList};
use crate::recorder::{ListenerGone, Recorder};
use crate::resume::{GaveUp, Resume};
use crate::store::{Fsync, LocalStore, RecordStore};
use crate::trajectory_id::trajectory_id;

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
    /// A tool call that passes the deterministic checks still goes to the
    /// model for its verdict; off: the deterministic checks decide alone.
    model_call_checks: bool,
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
            model_call_checks: self.model_call_checks,
        }
    }
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
            model_call_checks: true,
        }
    }

    /// Checks every tool result (a tool error or an empty result is sent
    /// back) instead of recording it as it comes (off by default).
    pub fn with_result_check(mut self, on: bool) -> Self {
        self.check_results = on;
        self
    }

    /// Whether the model judges the tool calls that pass the deterministic
    /// checks (on by default). Off for a judge too small to tell a relevant
    /// search from an irrelevant one: a 1.5B supervisor refused three relevant
    /// searches in a row as "not relevant" (docs/benchmarks.md).
    pub fn with_model_call_checks(mut self, on: bool) -> Self {
        self.model_call_checks = on;
        self
    }

    /// A copy whose trajectories share one tool list, fetched here once (a
    /// batch's). When the gateway does not answer now, each trajectory lists
    /// the tools itself, with its retries, as without this.
    pub async fn listing_tools_once(&self) -> Self {
        match self.mesh.list_tools().await {
            Ok(list) => self.with_tools(Arc::new(list)),
            Err(e) => {
                warn!(error = %e.detail, "cannot list the tools for the batch; each trajectory lists them");
                self.clone()
            }
        }
    }

    /// A copy that offers `tools` and checks reports against their
    /// descriptions too.
    fn with_tools(&self, tools: Arc<ToolList>) -> Self {
        let mut this = self.clone();
        this.texts = Arc::new(self.texts.with_tools(&tools.specs));
        this.tools = Some(tools);
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
        let listed;
        let (this, tools) = match &self.tools {
            Some(tools) => (self, tools.clone()),
            None => match self.retried("list tools", || self.mesh.list_tools()).await {
                Ok(tools) => {
                    let tools = Arc::new(tools);
                    listed = self.with_tools(tools.clone());
                    (&listed, tools)
                }
                Err((e, why)) => return End::gave_up(0, MeshError { reason: TerminationReason::ToolFailure, ..e }, why),
            },
        };
        this.research(record, &intent, &tools, caps).await
    }

    /// Runs the research sessions of a trajectory whose intent is recorded,
    /// with `tools`, until it ends.
    async fn research(&self, record: &mut Recorder, intent: &Intent, tools: &ToolList, caps: Caps) -> Result<End, Error> {
        record.trajectory_mut().tool_snapshot = tools.snapshot.clone();
        let mut checker = CallChecker::new(&tools.specs, &self.schemas, &caps);
        for said in std::iter::once(&intent.query).chain(intent.follow_ups.iter().map(|f| &f.message)) {
            checker.remember_said(said);
        }
        let mut state = Counters { round: 1, ..Counters::default() };
        // Counters and the checker's memory as they were after the last verdict.
        let mut turn_due = false;
        let mut pending: Option<&Step> = None;
        for event in &record.trajectory().events {
            match &event.body {
                EventBody::Step(step) => pending = Some(step),
                EventBody::Verdict(verdict) => {
                    let Some(step) = pending.take() else { continue };
                    if let Some(end) = state.apply(step, verdict, &caps, &mut checker) {
                        if state.turn_follows(&end, intent) {
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
        if turn_due && self.start_turn(record, intent, &mut state).await?.is_err() {
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
            let turn_intent = state.turn_intent(intent);
            let outcome = match self.mesh.open_research(start).await {
                Ok(mut link) => self.session(record, &turn_intent, &mut link, &mut state, &caps, &mut checker).await?,
                Err(e) => Flow::Broken(e),
            };
            let e = match outcome {
                Flow::End(end) => return Ok(end),
                Flow::NextTurn => {
                    if self.start_turn(record, intent, &mut state).await?.is_err() {
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
    async fn start_turn(&self, record: &mut Recorder, intent: &Intent, state: &mut Counters) -> Result<Result<(), ListenerGone>, Error> {
        let follow_up = intent.follow_ups[state.turn as usize].clone();
        state.next_turn();
        debug!(turn = state.turn, "next user turn");
        record.push(state.round, EventBody::UserTurn(UserTurn { turn: state.turn, follow_up })).await
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
