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
use productresearch_record::{Decision, EventBody, Intent, Step, StepKind, ToolCall, ToolSpec, TrajectoryEvent, Verdict};

use crate::context::{self, ContextPolicy};
use crate::prompt;
use crate::tools::Tools;

/// Why the agent could not produce its next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The model failed or its output was unusable.
    Model { detail: String, transient: bool },
    /// The tool gateway failed.
    Tool(String),
}

impl From<LlmError> for Failure {
    fn from(e: LlmError) -> Self {
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
    specs: Vec<ToolSpec>,
    trajectory_id: String,
    context: Vec<Message>,
    phase: Phase,
    /// An approved call waiting to be executed.
    to_execute: Option<ToolCall>,
    /// Further calls the model made in one turn, proposed one at a time.
    queued: VecDeque<ToolCall>,
    tool_calls_done: u32,
    max_tool_calls: u32,
    budget_notice_sent: bool,
    /// Keeps the most recent tool results whole when eliding.
    keep_last_results: usize,
    /// Call ids seen, so every call of the trajectory has a unique id.
    call_ids: std::collections::HashSet<String>,
}

/// Tool results always kept whole by the context policy.
const KEEP_LAST_RESULTS: usize = 2;
/// Tokens reserved for the answer when the endpoint sets no max_tokens.
const DEFAULT_RESERVE: u32 = 1_024;

impl<T: Tools> Session<T> {
    /// A new session on `intent` with the gateway's tools.
    pub fn new(llm: LlmClient, tools: Arc<T>, specs: Vec<ToolSpec>, trajectory_id: String, intent: &Intent, max_tool_calls: u32) -> Self {
        Self {
            llm,
            tools,
            specs,
            trajectory_id,
            context: vec![Message::system(prompt::SYSTEM), Message::user(prompt::opening(intent))],
            phase: Phase::Plan,
            to_execute: None,
            queued: VecDeque::new(),
            tool_calls_done: 0,
            max_tool_calls,
            budget_notice_sent: false,
            keep_last_results: KEEP_LAST_RESULTS,
            call_ids: Default::default(),
        }
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
                (body, _) => return Err(format!("transcript event {} ({}) is out of order", event.seq, kind_name(body))),
            }
        }
        Ok(())
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
        if let Some(call) = self.to_execute.take() {
            let result = self.tools.call(&self.trajectory_id, &call.id, &call.name, &call.arguments).await.map_err(Failure::Tool)?;
            return Ok(Step::result(result));
        }
        match self.phase {
            Phase::Plan => self.plan().await,
            Phase::Act | Phase::Done => self.act().await,
        }
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
        let (messages, elided) = context::fit(&self.context, &[], &self.policy().await);
        let request = ChatRequest {
            messages,
            json_schema: Some(JsonSchema { name: "plan".into(), schema: prompt::plan_schema() }),
            ..ChatRequest::default()
        };
        let (value, response) = self.llm.chat_json(&request).await?;
        let plan = value
            .get("plan")
            .and_then(|p| p.as_str())
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Failure::Model { detail: "plan output has no non-empty \"plan\" string".into(), transient: false })?;
        let mut step = Step::text(StepKind::Plan, plan, response.usage, response.model);
        step.elided_call_ids = elided;
        Ok(step)
    }

    async fn act(&mut self) -> Result<Step, Failure> {
        if let Some(call) = self.queued.pop_front() {
            return Ok(Step::call(call, "", Default::default(), self.llm.model()));
        }
        let budget_left = self.tool_calls_done < self.max_tool_calls;
        if !budget_left && !self.budget_notice_sent {
            self.context.push(Message::user(prompt::BUDGET_USED));
            self.budget_notice_sent = true;
        }
        let (messages, elided) = context::fit(&self.context, &self.specs, &self.policy().await);
        let request = ChatRequest {
            messages,
            tools: self.specs.clone(),
            tool_choice: Some(if budget_left { ToolChoice::Auto } else { ToolChoice::None }),
            ..ChatRequest::default()
        };
        let acted = self.llm.act(&request).await?;
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
        match step.kind {
            StepKind::Plan => {
                self.context.push(Message::assistant(&step.text));
                if approved {
                    self.context.push(Message::user(prompt::ACT));
                    self.phase = Phase::Act;
                } else {
                    self.context.push(Message::user(prompt::plan_feedback(&verdict.feedback)));
                }
            }
            StepKind::ToolCall => {
                let Some(call) = step.tool_call.clone() else { return };
                self.call_ids.insert(call.id.clone());
                let reasoning = (!step.reasoning.is_empty()).then(|| step.reasoning.clone());
                self.context.push(Message::assistant_calls(reasoning, vec![call.clone()]));
                if approved {
                    self.tool_calls_done += 1;
                    self.to_execute = Some(call);
                } else {
                    self.context.push(Message::tool(call.id, prompt::call_rejected(&verdict.feedback)));
                }
            }
            StepKind::ToolResult => {
                let Some(result) = &step.tool_result else { return };
                self.to_execute = None;
                self.context.push(Message::tool(&result.call_id, &result.content));
                if !approved {
                    self.context.push(Message::user(prompt::result_feedback(&verdict.feedback)));
                }
            }
            StepKind::Report => {
                if approved {
                    self.phase = Phase::Done;
                } else {
                    // Calls queued behind a rejected report are stale.
                    self.queued.clear();
                    self.context.push(Message::assistant(&step.text));
                    self.context.push(Message::user(prompt::report_feedback(&verdict.feedback)));
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
    }
}
