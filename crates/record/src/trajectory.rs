//! The trajectory record: an ordered, append-only log of everything that
//! happened while one intent was researched.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FailureClass, FailureKind, Intent, Step, StepKind, TokenUsage, Verdict};

/// Why a trajectory ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminationReason {
    /// A report was approved.
    Approved,
    /// The report round cap was reached.
    RoundCap,
    /// A budget ran out.
    Budget,
    /// A model call failed after retries.
    ModelFailure,
    /// A tool failed after retries.
    ToolFailure,
    /// The caller cancelled.
    Cancelled,
    /// Another service of the mesh failed.
    MeshFailure,
}

/// How a trajectory ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Termination {
    /// Typed reason.
    pub reason: TerminationReason,
    /// Detail for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Which budget ran out (reasons `budget` and `round_cap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetKind>,
    /// The classified failure (model, tool and mesh failures); the distiller's
    /// filters read this instead of parsing `detail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureClass>,
}

impl Termination {
    /// A termination without budget or failure class.
    pub fn new(reason: TerminationReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into(), budget: None, failure: None }
    }

    /// A budget termination naming the budget.
    pub fn budget(kind: BudgetKind, detail: impl Into<String>) -> Self {
        let reason = if kind == BudgetKind::ReportRounds { TerminationReason::RoundCap } else { TerminationReason::Budget };
        Self { budget: Some(kind), ..Self::new(reason, detail) }
    }

    /// A failure termination; the reason follows from the failure's kind.
    pub fn failure(class: FailureClass, detail: impl Into<String>) -> Self {
        Self { failure: Some(class), ..Self::new(class.kind.into(), detail) }
    }
}

impl From<FailureKind> for TerminationReason {
    /// The termination a failure of `kind` leads to.
    fn from(kind: FailureKind) -> Self {
        match kind {
            FailureKind::Model | FailureKind::Policy | FailureKind::Endpoint => Self::ModelFailure,
            FailureKind::Tool => Self::ToolFailure,
            FailureKind::Protocol | FailureKind::Mesh | FailureKind::Config | FailureKind::InvalidInput | FailureKind::Internal => {
                Self::MeshFailure
            }
        }
    }
}

/// Which budget of a trajectory ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    /// Report rounds.
    ReportRounds,
    /// Approved tool calls of the trajectory.
    ToolCalls,
    /// Approved tool calls within one report round.
    RoundToolCalls,
    /// Rejections of one step in a row.
    Rejections,
    /// Prompt + completion tokens of the trajectory.
    Tokens,
    /// Prompt + completion tokens of one role.
    RoleTokens,
    /// Wall time.
    WallTime,
}

/// What an event records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// The inferred intent.
    Intent(Intent),
    /// A proposed step.
    Step(Step),
    /// The verdict on the previous step.
    Verdict(Verdict),
    /// The end.
    Termination(Termination),
    /// The user's next turn: after an approved report, the research
    /// continues with a follow-up of the intent.
    UserTurn(UserTurn),
}

/// A follow-up turn of the user within one trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserTurn {
    /// Which turn starts (1 for the first follow-up; the opening query is turn 0).
    pub turn: u32,
    /// The follow-up from the intent.
    pub follow_up: crate::FollowUp,
}

/// One entry of the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryEvent {
    /// Position, from 0, without gaps.
    pub seq: u64,
    /// RFC 3339 time of recording.
    pub timestamp: String,
    /// Report round (1-based; 0 before any report).
    pub round: u32,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// A whole trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// Deterministic id.
    pub trajectory_id: String,
    /// User whose history started it.
    pub user_id: String,
    /// The record, in order.
    pub events: Vec<TrajectoryEvent>,
    /// Model per role.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// W3C trace id, hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trace_id: String,
    /// Every prompt template used in the trajectory, each once, sorted; steps
    /// and verdicts add theirs when pushed, the intent's come via [`Trajectory::add_prompts`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<crate::PromptRef>,
    /// Id of the tool snapshot the trajectory's tool results came from (the
    /// tool gateway's record/replay store, e.g. `replay:out/tool-store`), so
    /// the data can be traced to and re-checked against what the agent saw;
    /// empty for live tools (older records lack it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tool_snapshot: String,
}

impl Trajectory {
    /// An empty record.
    pub fn new(trajectory_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            trajectory_id: trajectory_id.into(),
            user_id: user_id.into(),
            events: Vec::new(),
            models: BTreeMap::new(),
            trace_id: String::new(),
            prompts: Vec::new(),
            tool_snapshot: String::new(),
        }
    }

    /// Notes prompt templates used for this trajectory (kept sorted, no repeats).
    pub fn add_prompts<'a>(&mut self, prompts: impl IntoIterator<Item = &'a crate::PromptRef>) {
        for p in prompts {
            if let Err(at) = self.prompts.binary_search(p) {
                self.prompts.insert(at, p.clone());
            }
        }
    }

    /// Appends an event with the next sequence number and the current time.
    pub fn push(&mut self, round: u32, body: EventBody) -> &TrajectoryEvent {
        let seq = self.events.len() as u64;
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match &body {
            EventBody::Step(s) => self.add_prompts(&s.prompts.clone()),
            EventBody::Verdict(v) => self.add_prompts(&v.prompts.clone()),
            _ => {}
        }
        self.events.push(TrajectoryEvent { seq, timestamp, round, body });
        self.events.last().expect("just pushed")
    }

    /// Time since the first event was recorded (None for an empty record or
    /// an unreadable timestamp).
    pub fn age(&self) -> Option<std::time::Duration> {
        let first = chrono::DateTime::parse_from_rfc3339(&self.events.first()?.timestamp).ok()?;
        (chrono::Utc::now() - first.with_timezone(&chrono::Utc)).to_std().ok()
    }

    /// The intent, if recorded.
    pub fn intent(&self) -> Option<&Intent> {
        self.events.iter().find_map(|e| match &e.body {
            EventBody::Intent(i) => Some(i),
            _ => None,
        })
    }

    /// The termination, if the trajectory ended.
    pub fn termination(&self) -> Option<&Termination> {
        self.events.iter().rev().find_map(|e| match &e.body {
            EventBody::Termination(t) => Some(t),
            _ => None,
        })
    }

    /// True when a report was approved.
    pub fn approved(&self) -> bool {
        self.termination().is_some_and(|t| t.reason == crate::TerminationReason::Approved)
    }

    /// Each step paired with the verdict that followed it (None if none did).
    pub fn steps(&self) -> Vec<(&TrajectoryEvent, &Step, Option<&Verdict>)> {
        let mut out = Vec::new();
        for (i, e) in self.events.iter().enumerate() {
            if let EventBody::Step(s) = &e.body {
                let verdict = self.events.get(i + 1).and_then(|n| match &n.body {
                    EventBody::Verdict(v) => Some(v),
                    _ => None,
                });
                out.push((e, s, verdict));
            }
        }
        out
    }

    /// The user's follow-up turns, each keyed by the seq of the first step
    /// after it (the step that starts answering it). A turn with no step after
    /// it (the record ended first) is left out: nothing answered it.
    pub fn user_turns_by_next_step(&self) -> std::collections::HashMap<u64, &UserTurn> {
        let mut out = std::collections::HashMap::new();
        let mut waiting: Option<&UserTurn> = None;
        for e in &self.events {
            match &e.body {
                EventBody::UserTurn(t) => waiting = Some(t),
                EventBody::Step(_) => {
                    if let Some(t) = waiting.take() {
                        out.insert(e.seq, t);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The last approved report, if any.
    pub fn final_report(&self) -> Option<&str> {
        self.steps()
            .into_iter()
            .rev()
            .find(|(_, s, v)| s.kind == StepKind::Report && v.is_some_and(|v| v.approved()))
            .map(|(_, s, _)| s.text.as_str())
    }

    /// Tokens spent by the agent's steps and the supervisor's verdicts.
    pub fn usage(&self) -> TokenUsage {
        let mut u = TokenUsage::default();
        for e in &self.events {
            match &e.body {
                EventBody::Step(s) => u += s.usage,
                EventBody::Verdict(v) => u += v.usage,
                _ => {}
            }
        }
        u
    }

    /// Checks that the record is complete and ordered: sequence numbers from 0
    /// without gaps, the intent first, every step followed by its verdict, rounds
    /// never decreasing, and exactly one termination, last.
    pub fn validate(&self) -> Result<(), String> {
        let id = &self.trajectory_id;
        for (i, e) in self.events.iter().enumerate() {
            if e.seq != i as u64 {
                return Err(format!("trajectory {id}: event {i} has seq {}", e.seq));
            }
        }
        let mut rounds = self.events.iter().map(|e| e.round);
        if let Some(first) = rounds.next() {
            rounds
                .try_fold(first, |prev, r| if r >= prev { Ok(r) } else { Err(()) })
                .map_err(|_| format!("trajectory {id}: rounds go backwards"))?;
        }
        // A trajectory whose intent could not be inferred is only its termination.
        match self.events.first().map(|e| &e.body) {
            Some(EventBody::Intent(_)) => {}
            Some(EventBody::Termination(_)) if self.events.len() == 1 => return Ok(()),
            _ => return Err(format!("trajectory {id}: first event is not the intent")),
        }
        let terminations = self.events.iter().filter(|e| matches!(e.body, EventBody::Termination(_))).count();
        if terminations != 1 || !matches!(self.events.last().map(|e| &e.body), Some(EventBody::Termination(_))) {
            return Err(format!("trajectory {id}: must end with exactly one termination (found {terminations})"));
        }
        for (i, e) in self.events.iter().enumerate() {
            match &e.body {
                EventBody::Step(s) => {
                    s.validate().map_err(|m| format!("trajectory {id}: event {i}: {m}"))?;
                    let next = self.events.get(i + 1).map(|n| &n.body);
                    if !matches!(next, Some(EventBody::Verdict(_)) | Some(EventBody::Termination(_))) {
                        return Err(format!("trajectory {id}: step at event {i} has no verdict"));
                    }
                }
                EventBody::Verdict(_) if !matches!(self.events.get(i.wrapping_sub(1)).map(|p| &p.body), Some(EventBody::Step(_))) => {
                    return Err(format!("trajectory {id}: verdict at event {i} follows no step"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
