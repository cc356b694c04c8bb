//! One research session: the agent's context and its Plan → ToolCall* → Report
//! loop, one proposed step at a time.
//!
//! The session is driven from outside: [`Session::next_step`] proposes a step,
//! and [`Session::apply`] records the verdict on it. Because a session is fully
//! determined by its (step, verdict) pairs, [`Session::replay`] rebuilds the
//! context from a transcript without calling the model or the tools again: that
//! is how a fresh replica continues a session another one began.

use std::collections::VecDeque;
use std::sync::Arc;

use productresearch_llm::{Action, ChatRequest, JsonSchema, LlmClient, LlmError, Message, ToolChoice};
use productresearch_prompts::PromptSet;
use productresearch_record::{Decision, EventBody, Intent, PromptRef, Step, StepKind, ToolCall, TrajectoryEvent, Verdict};
use serde_json::json;

use crate::context::{self, ContextPolicy, Fitted};
use crate::offer::{Grounding, ToolSet};
use crate::prompt;
use crate::tools::Tools;

/// Why the agent could not produce its next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The model failed or its output was unusable.
    Model { detail: String, transient: bool },
    /// The tool gateway failed.
    Tool(String),
    /// The model endpoint refuses every call (its circuit breaker is open).
    Endpoint(String),
}

impl Failure {
    /// A short class for the `error.type` attribute.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Model { .. } => "model_failure",
            Failure::Tool(_) => "tool_failure",
            Failure::Endpoint(_) => "endpoint_broken",
        }
    }
}

impl From<LlmError> for Failure {
    /// Transient by the mesh's one definition: retries of a transient cause
    /// running out leave it transient (the supervisor resumes the session).
    fn from(e: LlmError) -> Self {
        if e.is_endpoint_broken() {
            return Failure::Endpoint(e.to_string());
        }
        Failure::Model { transient: e.is_transient(), detail: e.to_string() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Plan,
    Act,
    Done,
}

/// A research session.
pub struct Session<T> {
    llm: LlmClient,
    tools: Arc<T>,
    /// The tools, shared by the sessions that were handed the same list.
    specs: ToolSet,
    trajectory_id: String,
    context: Vec<Message>,
    phase: Phase,
    /// An approved call waiting to be executed.
    to_execute: Option<ToolCall>,
    /// Further calls the model made in one turn, proposed one at a time.
    queued: VecDeque<ToolCall>,
    tool_calls_done: u32,
    max_tool_calls: u32,
    /// Calls made before the report is offered.
    min_tool_calls: u32,
    /// What results found and calls opened: narrows the visit tools offered.
    grounding: Grounding,
    budget_notice_sent: bool,
    /// Keeps the most recent tool results whole when eliding.
    keep_last_results: usize,
    /// Call ids seen, so every call of the trajectory has a unique id.
    call_ids: std::collections::HashSet<String>,
    /// The prompt templates.
    prompts: PromptSet,
    /// Templates rendered into the context so far: recorded on each step the
    /// model produces.
    prompts_used: std::collections::BTreeSet<PromptRef>,
    /// A template failed to render; the next step fails with this.
    prompt_error: Option<String>,
    /// Plans or reports sent back in a row: the next is asked for hotter
    /// ([`Session::next_temperature`]).
    sent_back: u32,
    /// A report sent back stays in the context (else only its feedback does).
    keep_sent_back_reports: bool,
}

/// Tool results always kept whole by the context policy.
const KEEP_LAST_RESULTS: usize = 2;
/// Tokens reserved for the answer when the endpoint sets no max_tokens.
const DEFAULT_RESERVE: u32 = 1_024;
/// Temperature added for each plan or report sent back in a row, and the
/// most it reaches (see [`Session::next_temperature`]).
const RESAMPLE_STEP: f32 = 0.3;
const RESAMPLE_MAX: f32 = 1.0;

impl<T: Tools> Session<T> {
    /// A new session on `intent` with the gateway's tools and the built-in prompts.
    pub fn new(
        llm: LlmClient,
        tools: Arc<T>,
        specs: impl Into<ToolSet>,
        trajectory_id: String,
        intent: &Intent,
        max_tool_calls: u32,
    ) -> Self {
        Self::with_prompts(llm, tools, specs, trajectory_id, intent, max_tool_calls, PromptSet::builtin())
    }

    /// A new session whose messages come from `prompts`.
    pub fn with_prompts(
        llm: LlmClient,
        tools: Arc<T>,
        specs: impl Into<ToolSet>,
        trajectory_id: String,
        intent: &Intent,
        max_tool_calls: u32,
        prompts: PromptSet,
    ) -> Self {
        let mut session = Self {
            llm,
            tools,
            specs: specs.into(),
            trajectory_id,
            context: Vec::new(),
            phase: Phase::Plan,
            to_execute: None,
            queued: VecDeque::new(),
            tool_calls_done: 0,
            max_tool_calls,
            min_tool_calls: 0,
            grounding: Grounding::default(),
            budget_notice_sent: false,
            keep_last_results: KEEP_LAST_RESULTS,
            call_ids: Default::default(),
            prompts,
            prompts_used: Default::default(),
            prompt_error: None,
            sent_back: 0,
            keep_sent_back_reports: true,
        };
        let system = session.say(prompt::SYSTEM, json!({}));
        session.context.push(Message::system(system));
        let opening = session.say(prompt::PLAN, prompt::opening_context(intent));
        session.context.push(Message::user(opening));
        session
    }

    /// The report is offered only after `n` approved tool calls (the evidence
    /// the supervisor requires of a report): a small model that may write the
    /// report at once often does, before it has anything to report on.
    pub fn requiring_tool_calls(mut self, n: u32) -> Self {
        self.min_tool_calls = n;
        self
    }

    /// Whether a report the supervisor sent back stays in the context for its
    /// revision (the default). Off, only the feedback does, so a small model
    /// that copies what it reads writes the report anew from the tool results:
    /// the 0.5B rewrote a sent-back report nearly token for token, even asked
    /// hotter (docs/benchmarks.md run 17), and copied a one-line stand-in for
    /// it as its next report (run 19).
    pub fn keeping_sent_back_reports(mut self, keep: bool) -> Self {
        self.keep_sent_back_reports = keep;
        self
    }

    /// Renders template `name` and notes it as used. A failure is kept and
    /// ends the next step (the text is then empty and never sent).
    fn say(&mut self, name: &str, ctx: serde_json::Value) -> String {
        match self.prompts.render(name, ctx) {
            Ok(r) => {
                self.prompts_used.insert(r.prompt);
                r.text
            }
            Err(e) => {
                self.prompt_error.get_or_insert_with(|| e.to_string());
                String::new()
            }
        }
    }

    /// The templates behind the current context, for the step about to be made.
    fn prompt_refs(&self) -> Vec<PromptRef> {
        self.prompts_used.iter().cloned().collect()
    }

    /// Rebuilds the state from a transcript of steps each followed by its
    /// verdict. A trailing step without a verdict is ignored (it is proposed
    /// again).
    pub fn replay(&mut self, transcript: &[TrajectoryEvent]) -> Result<(), String> {
        let mut pending: Option<&Step> = None;
        for event in transcript {
            match (&event.body, pending.take()) {
                (EventBody::Step(s), None) => pending = Some(s),
                (EventBody::Verdict(v), Some(s)) => self.apply(s, v),
                (EventBody::Intent(_), None) => {}
                (EventBody::UserTurn(u), None) => self.follow_up(&u.follow_up.message),
                (body, _) => return Err(format!("transcript event {} ({}) is out of order", event.seq, kind_name(body))),
            }
        }
        Ok(())
    }

    /// The user's next turn after an approved report: the research goes on
    /// with the follow-up, with a fresh tool budget for the turn.
    fn follow_up(&mut self, message: &str) {
        let turn = self.say(prompt::FOLLOW_UP, prompt::follow_up_context(message));
        self.context.push(Message::user(turn));
        self.phase = Phase::Act;
        self.queued.clear();
        self.tool_calls_done = 0;
        self.budget_notice_sent = false;
    }

    /// True once a report was approved.
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The messages the model sees next (for tests and diagnostics).
    pub fn context(&self) -> &[Message] {
        &self.context
    }

    /// Proposes the next step.
    pub async fn next_step(&mut self) -> Result<Step, Failure> {
        if let Some(detail) = &self.prompt_error {
            return Err(Failure::Model { detail: detail.clone(), transient: false });
        }
        if let Some(call) = self.to_execute.take() {
            return self.execute(call).await;
        }
        match self.phase {
            Phase::Plan => self.plan().await,
            Phase::Act | Phase::Done => self.act().await,
        }
    }

    /// Executes an approved call in an `execute_tool <tool>` span.
    async fn execute(&mut self, call: ToolCall) -> Result<Step, Failure> {
        use productresearch_runtime::telemetry::{genai, metrics};
        use tracing::Instrument;
        let span = genai::execute_tool_span(genai::agent::RESEARCH_AGENT, &call.name, &call.id);
        genai::record_payload(&span, genai::Payload::ToolArguments, &call.arguments, Some("gen_ai.tool.call.arguments"));
        let started = std::time::Instant::now();
        let result = self.tools.call(&self.trajectory_id, &call.id, &call.name, &call.arguments).instrument(span.clone()).await;
        let error = match &result {
            Ok(r) => {
                genai::record_payload(&span, genai::Payload::ToolResult, &r.content, Some("gen_ai.tool.call.result"));
                span.record("productresearch.tool.is_error", r.is_error);
                r.is_error.then_some("tool_error")
            }
            Err(_) => Some("tool_unavailable"),
        };
        if let Some(e) = error {
            genai::record_error(&span, e);
        }
        metrics::gen_ai_operation("execute_tool", genai::agent::RESEARCH_AGENT, &call.name, started.elapsed(), None, error);
        Ok(Step::result(result.map_err(Failure::Tool)?))
    }

    /// The temperature the next plan or report is asked for at, when not the
    /// endpoint's own: the endpoint's raised by
    /// [`RESAMPLE_STEP`] for each one sent back in a row (up to
    /// [`RESAMPLE_MAX`]) when the endpoint sets one. At the embedded model's
    /// 0.2 the 0.5B wrote the same 372-token report three times over the
    /// feedback (docs/benchmarks.md run 16): the same prompt at a low
    /// temperature gives the same answer, whatever the feedback says.
    pub fn next_temperature(&self) -> Option<f32> {
        let base = self.llm.config().temperature?;
        (self.sent_back > 0).then(|| (base + RESAMPLE_STEP * self.sent_back as f32).min(RESAMPLE_MAX.max(base)))
    }

    /// The context policy for the next request: the endpoint's window and the
    /// tokens reserved for the answer.
    async fn policy(&self) -> ContextPolicy {
        ContextPolicy {
            window: self.llm.context_length().await,
            reserve: self.llm.config().max_tokens.unwrap_or(DEFAULT_RESERVE),
            keep_last_results: self.keep_last_results,
        }
    }

    async fn plan(&mut self) -> Result<Step, Failure> {
        let policy = self.policy().await;
        let Fitted { messages, elided, restore } = context::fit(std::mem::take(&mut self.context), 0, &policy);
        let request = ChatRequest {
            messages,
            json_schema: Some(JsonSchema { name: "plan".into(), schema: prompt::PLAN_SCHEMA.clone() }),
            temperature: self.next_temperature(),
            ..ChatRequest::default()
        };
        let answer = self.llm.chat_json(&request).await;
        self.context = restore.apply(request.messages);
        let (value, response) = answer?;
        let plan = prompt::plan_text(&value)
            .ok_or_else(|| Failure::Model { detail: "plan output has no non-empty \"steps\" list".into(), transient: false })?;
        let mut step = Step::text(StepKind::Plan, plan, response.usage, response.model);
        step.elided_call_ids = elided;
        step.prompts = self.prompt_refs();
        Ok(step)
    }

    async fn act(&mut self) -> Result<Step, Failure> {
        if let Some(call) = self.queued.pop_front() {
            return Ok(Step::call(call, "", Default::default(), self.llm.model()));
        }
        let budget_left = self.tool_calls_done < self.max_tool_calls;
        if !budget_left && !self.budget_notice_sent {
            let notice = self.say(prompt::BUDGET_USED, json!({}));
            self.context.push(Message::user(notice));
            self.budget_notice_sent = true;
        }
        let policy = self.policy().await;
        let Fitted { messages, elided, restore } = context::fit(std::mem::take(&mut self.context), self.specs.told_chars(), &policy);
        let request = ChatRequest {
            messages,
            tools: self.specs.told().clone(),
            callable: Some(self.grounding.offer(&self.specs)),
            tool_choice: Some(match (budget_left, self.tool_calls_done < self.min_tool_calls) {
                (false, _) => ToolChoice::None,
                (true, true) => ToolChoice::Required,
                (true, false) => ToolChoice::Auto,
            }),
            temperature: self.next_temperature(),
            ..ChatRequest::default()
        };
        let acted = self.llm.act(&request).await;
        self.context = restore.apply(request.messages);
        let acted = acted?;
        let mut step = match acted.action {
            Action::Calls(calls) => {
                let calls: Vec<ToolCall> = calls.into_iter().map(|c| self.unique_id(c)).collect();
                let mut calls = calls.into_iter();
                let first = calls
                    .next()
                    .ok_or_else(|| Failure::Model { detail: "model returned an empty list of calls".into(), transient: false })?;
                self.queued.extend(calls);
                Step::call(first, acted.reasoning, acted.usage, acted.model)
            }
            Action::Report(report) => Step::text(StepKind::Report, report.trim(), acted.usage, acted.model),
        };
        step.elided_call_ids = elided;
        step.prompts = self.prompt_refs();
        Ok(step)
    }

    /// Endpoints number calls per turn (`call_0` again and again); ids must be
    /// unique in a trajectory so results pair with their calls.
    fn unique_id(&mut self, mut call: ToolCall) -> ToolCall {
        if call.id.is_empty() || self.call_ids.contains(&call.id) {
            call.id = format!("call_{}", self.call_ids.len());
            while self.call_ids.contains(&call.id) {
                call.id.push('_');
            }
        }
        self.call_ids.insert(call.id.clone());
        call
    }

    /// Records the verdict on `step`, the step this session proposed last.
    pub fn apply(&mut self, step: &Step, verdict: &Verdict) {
        let approved = verdict.decision == Decision::Approve;
        match (approved, step.kind) {
            (true, _) => self.sent_back = 0,
            (false, StepKind::Plan | StepKind::Report) => self.sent_back += 1,
            (false, _) => {}
        }
        match step.kind {
            StepKind::Plan => {
                self.context.push(Message::assistant(&step.text));
                if approved {
                    let act = self.say(prompt::ACT, json!({}));
                    self.context.push(Message::user(act));
                    self.phase = Phase::Act;
                } else {
                    let text = self.say(prompt::PLAN_FEEDBACK, prompt::feedback_context(&verdict.feedback));
                    self.context.push(Message::user(text));
                }
            }
            StepKind::ToolCall => {
                let Some(call) = step.tool_call.clone() else { return };
                self.call_ids.insert(call.id.clone());
                let reasoning = (!step.reasoning.is_empty()).then(|| step.reasoning.clone());
                self.context.push(Message::assistant_calls(reasoning, vec![call.clone()]));
                if approved {
                    self.tool_calls_done += 1;
                    self.grounding.saw_call(&call);
                    self.to_execute = Some(call);
                } else {
                    self.grounding.saw_refusal(&call);
                    let text = self.say(prompt::CALL_REJECTED, prompt::feedback_context(&verdict.feedback));
                    self.context.push(Message::tool(call.id, text));
                }
            }
            StepKind::ToolResult => {
                let Some(result) = &step.tool_result else { return };
                self.to_execute = None;
                self.grounding.saw_result(&result.content);
                self.context.push(Message::tool(&result.call_id, &result.content));
                if !approved {
                    let text = self.say(prompt::RESULT_FEEDBACK, prompt::feedback_context(&verdict.feedback));
                    self.context.push(Message::user(text));
                }
            }
            StepKind::Report => {
                if approved {
                    // Kept in the context for a follow-up turn.
                    self.context.push(Message::assistant(&step.text));
                    self.phase = Phase::Done;
                } else {
                    // Calls queued behind a rejected report are stale.
                    self.queued.clear();
                    if self.keep_sent_back_reports {
                        self.context.push(Message::assistant(&step.text));
                    }
                    let text = self.say(prompt::REPORT_FEEDBACK, prompt::feedback_context(&verdict.feedback));
                    self.context.push(Message::user(text));
                }
            }
        }
    }
}

fn kind_name(body: &EventBody) -> &'static str {
    match body {
        EventBody::Intent(_) => "intent",
        EventBody::Step(_) => "step",
        EventBody::Verdict(_) => "verdict",
        EventBody::Termination(_) => "termination",
        EventBody::UserTurn(_) => "user turn",
    }
}
