//! Conversions between the domain types and the v1 proto types, in one place.
//!
//! Domain → proto cannot fail. Proto → domain can: unset enums and missing
//! required messages are reported as [`ConvertError`] naming the field, which
//! services turn into INVALID_ARGUMENT.

use productresearch_proto::common::v1 as pb;

use crate::*;

/// A proto message that does not make a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A required field is missing.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// An enum field is unset or unknown.
    #[error("field {0} has an unspecified or unknown value {1}")]
    BadEnum(&'static str, i32),
}

fn en<T: TryFrom<i32>>(field: &'static str, v: i32) -> Result<T, ConvertError> {
    T::try_from(v).map_err(|_| ConvertError::BadEnum(field, v))
}

// ---- usage -------------------------------------------------------------

impl From<TokenUsage> for pb::TokenUsage {
    fn from(u: TokenUsage) -> Self {
        Self { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens }
    }
}

impl From<pb::TokenUsage> for TokenUsage {
    fn from(u: pb::TokenUsage) -> Self {
        Self { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens }
    }
}

fn usage_from(u: Option<pb::TokenUsage>) -> TokenUsage {
    u.map(Into::into).unwrap_or_default()
}

// ---- history -----------------------------------------------------------

impl From<HistoryEventKind> for pb::HistoryEventKind {
    fn from(k: HistoryEventKind) -> Self {
        match k {
            HistoryEventKind::Purchase => Self::Purchase,
            HistoryEventKind::Review => Self::Review,
            HistoryEventKind::Search => Self::Search,
            HistoryEventKind::Click => Self::Click,
            HistoryEventKind::ServiceDialogue => Self::ServiceDialogue,
        }
    }
}

impl TryFrom<pb::HistoryEventKind> for HistoryEventKind {
    type Error = ConvertError;
    fn try_from(k: pb::HistoryEventKind) -> Result<Self, ConvertError> {
        Ok(match k {
            pb::HistoryEventKind::Purchase => Self::Purchase,
            pb::HistoryEventKind::Review => Self::Review,
            pb::HistoryEventKind::Search => Self::Search,
            pb::HistoryEventKind::Click => Self::Click,
            pb::HistoryEventKind::ServiceDialogue => Self::ServiceDialogue,
            pb::HistoryEventKind::Unspecified => return Err(ConvertError::BadEnum("history_event.kind", 0)),
        })
    }
}

impl From<UserHistory> for pb::UserHistory {
    fn from(h: UserHistory) -> Self {
        Self {
            user_id: h.user_id,
            events: h
                .events
                .into_iter()
                .map(|e| pb::HistoryEvent {
                    kind: pb::HistoryEventKind::from(e.kind) as i32,
                    timestamp: e.timestamp.unwrap_or_default(),
                    product_id: e.product_id,
                    title: e.title,
                    price: e.price.unwrap_or(0.0),
                    rating: e.rating.unwrap_or(0.0),
                    text: e.text,
                    category: e.category,
                })
                .collect(),
        }
    }
}

impl TryFrom<pb::UserHistory> for UserHistory {
    type Error = ConvertError;
    fn try_from(h: pb::UserHistory) -> Result<Self, ConvertError> {
        let events = h
            .events
            .into_iter()
            .map(|e| {
                let kind: pb::HistoryEventKind = en("history_event.kind", e.kind)?;
                Ok(HistoryEvent {
                    kind: kind.try_into()?,
                    timestamp: (!e.timestamp.is_empty()).then_some(e.timestamp),
                    product_id: e.product_id,
                    title: e.title,
                    price: (e.price != 0.0).then_some(e.price),
                    rating: (e.rating != 0.0).then_some(e.rating),
                    text: e.text,
                    category: e.category,
                })
            })
            .collect::<Result<_, ConvertError>>()?;
        Ok(Self { user_id: h.user_id, events })
    }
}

// ---- rubric and intent -------------------------------------------------

impl From<Dimension> for pb::Dimension {
    fn from(d: Dimension) -> Self {
        match d {
            Dimension::Comprehensiveness => Self::Comprehensiveness,
            Dimension::Depth => Self::Depth,
            Dimension::InstructionFollowing => Self::InstructionFollowing,
            Dimension::Readability => Self::Readability,
        }
    }
}

impl TryFrom<i32> for Dimension {
    type Error = ConvertError;
    fn try_from(v: i32) -> Result<Self, ConvertError> {
        Ok(match en::<pb::Dimension>("rubric_dimension.dimension", v)? {
            pb::Dimension::Comprehensiveness => Self::Comprehensiveness,
            pb::Dimension::Depth => Self::Depth,
            pb::Dimension::InstructionFollowing => Self::InstructionFollowing,
            pb::Dimension::Readability => Self::Readability,
            pb::Dimension::Unspecified => return Err(ConvertError::BadEnum("rubric_dimension.dimension", v)),
        })
    }
}

impl From<Rubric> for pb::Rubric {
    fn from(r: Rubric) -> Self {
        Self {
            dimensions: r
                .dimensions
                .into_iter()
                .map(|d| pb::RubricDimension {
                    dimension: pb::Dimension::from(d.dimension) as i32,
                    weight: d.weight,
                    criteria: d
                        .criteria
                        .into_iter()
                        .map(|c| pb::Criterion { criterion: c.criterion, explanation: c.explanation, weight: c.weight })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl TryFrom<pb::Rubric> for Rubric {
    type Error = ConvertError;
    fn try_from(r: pb::Rubric) -> Result<Self, ConvertError> {
        let dimensions = r
            .dimensions
            .into_iter()
            .map(|d| {
                Ok(RubricDimension {
                    dimension: Dimension::try_from(d.dimension)?,
                    weight: d.weight,
                    criteria: d
                        .criteria
                        .into_iter()
                        .map(|c| Criterion { criterion: c.criterion, explanation: c.explanation, weight: c.weight })
                        .collect(),
                })
            })
            .collect::<Result<_, ConvertError>>()?;
        Ok(Self { dimensions })
    }
}

impl From<Intent> for pb::Intent {
    fn from(i: Intent) -> Self {
        Self {
            persona: i.persona,
            query: i.query,
            rubric: Some(i.rubric.into()),
            follow_ups: i.follow_ups.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::Intent> for Intent {
    type Error = ConvertError;
    fn try_from(i: pb::Intent) -> Result<Self, ConvertError> {
        Ok(Self {
            persona: i.persona,
            query: i.query,
            rubric: i.rubric.ok_or(ConvertError::Missing("intent.rubric"))?.try_into()?,
            follow_ups: i.follow_ups.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?,
        })
    }
}

impl From<FollowUp> for pb::FollowUp {
    fn from(f: FollowUp) -> Self {
        let shift = match f.shift {
            IntentShift::Narrow => pb::IntentShift::Narrow,
            IntentShift::Broaden => pb::IntentShift::Broaden,
            IntentShift::ChangeConstraint => pb::IntentShift::ChangeConstraint,
        };
        Self { shift: shift.into(), message: f.message }
    }
}

impl TryFrom<pb::FollowUp> for FollowUp {
    type Error = ConvertError;
    fn try_from(f: pb::FollowUp) -> Result<Self, ConvertError> {
        let shift = match pb::IntentShift::try_from(f.shift) {
            Ok(pb::IntentShift::Narrow) => IntentShift::Narrow,
            Ok(pb::IntentShift::Broaden) => IntentShift::Broaden,
            Ok(pb::IntentShift::ChangeConstraint) => IntentShift::ChangeConstraint,
            _ => return Err(ConvertError::Missing("follow_up.shift")),
        };
        Ok(Self { shift, message: f.message })
    }
}

// ---- steps and verdicts ------------------------------------------------

impl From<StepKind> for pb::StepKind {
    fn from(k: StepKind) -> Self {
        match k {
            StepKind::Plan => Self::Plan,
            StepKind::ToolCall => Self::ToolCall,
            StepKind::ToolResult => Self::ToolResult,
            StepKind::Report => Self::Report,
        }
    }
}

impl From<Step> for pb::Step {
    fn from(s: Step) -> Self {
        Self {
            kind: pb::StepKind::from(s.kind) as i32,
            reasoning: s.reasoning,
            text: s.text,
            tool_call: s.tool_call.map(|c| pb::ToolCall { id: c.id, name: c.name, arguments_json: c.arguments }),
            tool_result: s.tool_result.map(|r| pb::ToolResult {
                call_id: r.call_id,
                name: r.name,
                content: r.content,
                is_error: r.is_error,
            }),
            usage: Some(s.usage.into()),
            model: s.model,
            elided_call_ids: s.elided_call_ids,
            prompts: prompts_to_pb(s.prompts),
        }
    }
}

impl TryFrom<pb::Step> for Step {
    type Error = ConvertError;
    fn try_from(s: pb::Step) -> Result<Self, ConvertError> {
        let kind = match en::<pb::StepKind>("step.kind", s.kind)? {
            pb::StepKind::Plan => StepKind::Plan,
            pb::StepKind::ToolCall => StepKind::ToolCall,
            pb::StepKind::ToolResult => StepKind::ToolResult,
            pb::StepKind::Report => StepKind::Report,
            pb::StepKind::Unspecified => return Err(ConvertError::BadEnum("step.kind", s.kind)),
        };
        let step = Step {
            kind,
            reasoning: s.reasoning,
            text: s.text,
            tool_call: s.tool_call.map(|c| ToolCall { id: c.id, name: c.name, arguments: c.arguments_json }),
            tool_result: s.tool_result.map(|r| ToolResult { call_id: r.call_id, name: r.name, content: r.content, is_error: r.is_error }),
            usage: usage_from(s.usage),
            model: s.model,
            elided_call_ids: s.elided_call_ids,
            prompts: prompts_from_pb(s.prompts),
        };
        match kind {
            StepKind::ToolCall if step.tool_call.is_none() => Err(ConvertError::Missing("step.tool_call")),
            StepKind::ToolResult if step.tool_result.is_none() => Err(ConvertError::Missing("step.tool_result")),
            _ => Ok(step),
        }
    }
}

impl From<SupervisorState> for pb::SupervisorState {
    fn from(s: SupervisorState) -> Self {
        match s {
            SupervisorState::CheckPlan => Self::CheckPlan,
            SupervisorState::CheckToolcall => Self::CheckToolcall,
            SupervisorState::CheckReport => Self::CheckReport,
        }
    }
}

impl From<Verdict> for pb::Verdict {
    fn from(v: Verdict) -> Self {
        Self {
            decision: match v.decision {
                Decision::Approve => pb::Decision::Approve,
                Decision::Revise => pb::Decision::Revise,
            } as i32,
            feedback: v.feedback,
            state: pb::SupervisorState::from(v.state) as i32,
            deterministic: v.deterministic,
            usage: Some(v.usage.into()),
            prompts: prompts_to_pb(v.prompts),
        }
    }
}

impl TryFrom<pb::Verdict> for Verdict {
    type Error = ConvertError;
    fn try_from(v: pb::Verdict) -> Result<Self, ConvertError> {
        let decision = match en::<pb::Decision>("verdict.decision", v.decision)? {
            pb::Decision::Approve => Decision::Approve,
            pb::Decision::Revise => Decision::Revise,
            pb::Decision::Unspecified => return Err(ConvertError::BadEnum("verdict.decision", v.decision)),
        };
        let state = match en::<pb::SupervisorState>("verdict.state", v.state)? {
            pb::SupervisorState::CheckPlan => SupervisorState::CheckPlan,
            pb::SupervisorState::CheckToolcall => SupervisorState::CheckToolcall,
            pb::SupervisorState::CheckReport => SupervisorState::CheckReport,
            pb::SupervisorState::Unspecified => return Err(ConvertError::BadEnum("verdict.state", v.state)),
        };
        Ok(Verdict {
            decision,
            feedback: v.feedback,
            state,
            deterministic: v.deterministic,
            usage: usage_from(v.usage),
            prompts: prompts_from_pb(v.prompts),
        })
    }
}

// ---- tools -------------------------------------------------------------

impl From<ToolSpec> for productresearch_proto::tool_gateway::v1::ToolDefinition {
    fn from(t: ToolSpec) -> Self {
        Self { name: t.name, description: t.description, parameters_json_schema: t.parameters.to_string() }
    }
}

impl TryFrom<productresearch_proto::tool_gateway::v1::ToolDefinition> for ToolSpec {
    type Error = ConvertError;
    fn try_from(t: productresearch_proto::tool_gateway::v1::ToolDefinition) -> Result<Self, ConvertError> {
        let parameters = serde_json::from_str(&t.parameters_json_schema)
            .map_err(|_| ConvertError::Missing("tool_definition.parameters_json_schema (valid JSON)"))?;
        Ok(Self { name: t.name, description: t.description, parameters })
    }
}

// ---- trajectory --------------------------------------------------------

impl From<TerminationReason> for pb::TerminationReason {
    fn from(r: TerminationReason) -> Self {
        match r {
            TerminationReason::Approved => Self::Approved,
            TerminationReason::RoundCap => Self::RoundCap,
            TerminationReason::Budget => Self::Budget,
            TerminationReason::ModelFailure => Self::ModelFailure,
            TerminationReason::ToolFailure => Self::ToolFailure,
            TerminationReason::Cancelled => Self::Cancelled,
            TerminationReason::MeshFailure => Self::MeshFailure,
        }
    }
}

impl TryFrom<i32> for TerminationReason {
    type Error = ConvertError;
    fn try_from(v: i32) -> Result<Self, ConvertError> {
        Ok(match en::<pb::TerminationReason>("termination.reason", v)? {
            pb::TerminationReason::Approved => Self::Approved,
            pb::TerminationReason::RoundCap => Self::RoundCap,
            pb::TerminationReason::Budget => Self::Budget,
            pb::TerminationReason::ModelFailure => Self::ModelFailure,
            pb::TerminationReason::ToolFailure => Self::ToolFailure,
            pb::TerminationReason::Cancelled => Self::Cancelled,
            pb::TerminationReason::MeshFailure => Self::MeshFailure,
            pb::TerminationReason::Unspecified => return Err(ConvertError::BadEnum("termination.reason", v)),
        })
    }
}

impl From<BudgetKind> for pb::BudgetKind {
    fn from(k: BudgetKind) -> Self {
        match k {
            BudgetKind::ReportRounds => Self::ReportRounds,
            BudgetKind::ToolCalls => Self::ToolCalls,
            BudgetKind::RoundToolCalls => Self::RoundToolCalls,
            BudgetKind::Rejections => Self::Rejections,
            BudgetKind::Tokens => Self::Tokens,
            BudgetKind::RoleTokens => Self::RoleTokens,
            BudgetKind::WallTime => Self::WallTime,
        }
    }
}

/// Unspecified is "no budget".
fn budget_kind(v: i32) -> Result<Option<BudgetKind>, ConvertError> {
    Ok(Some(match en::<pb::BudgetKind>("termination.budget", v)? {
        pb::BudgetKind::Unspecified => return Ok(None),
        pb::BudgetKind::ReportRounds => BudgetKind::ReportRounds,
        pb::BudgetKind::ToolCalls => BudgetKind::ToolCalls,
        pb::BudgetKind::RoundToolCalls => BudgetKind::RoundToolCalls,
        pb::BudgetKind::Rejections => BudgetKind::Rejections,
        pb::BudgetKind::Tokens => BudgetKind::Tokens,
        pb::BudgetKind::RoleTokens => BudgetKind::RoleTokens,
        pb::BudgetKind::WallTime => BudgetKind::WallTime,
    }))
}

impl From<FailureKind> for pb::FailureKind {
    fn from(k: FailureKind) -> Self {
        match k {
            FailureKind::Model => Self::Model,
            FailureKind::Tool => Self::Tool,
            FailureKind::Policy => Self::Policy,
            FailureKind::Protocol => Self::Protocol,
            FailureKind::Mesh => Self::Mesh,
        }
    }
}

fn failure_kind(v: i32) -> Result<FailureKind, ConvertError> {
    Ok(match en::<pb::FailureKind>("termination.failure.kind", v)? {
        pb::FailureKind::Model => FailureKind::Model,
        pb::FailureKind::Tool => FailureKind::Tool,
        pb::FailureKind::Policy => FailureKind::Policy,
        pb::FailureKind::Protocol => FailureKind::Protocol,
        pb::FailureKind::Mesh => FailureKind::Mesh,
        pb::FailureKind::Unspecified => return Err(ConvertError::BadEnum("termination.failure.kind", v)),
    })
}

impl From<TrajectoryEvent> for pb::TrajectoryEvent {
    fn from(e: TrajectoryEvent) -> Self {
        use pb::trajectory_event::Event;
        let event = match e.body {
            EventBody::Intent(i) => Event::Intent(i.into()),
            EventBody::UserTurn(u) => Event::UserTurn(pb::UserTurn { turn: u.turn, follow_up: Some(u.follow_up.into()) }),
            EventBody::Step(s) => Event::Step(s.into()),
            EventBody::Verdict(v) => Event::Verdict(v.into()),
            EventBody::Termination(t) => Event::Termination(pb::Termination {
                reason: pb::TerminationReason::from(t.reason) as i32,
                detail: t.detail,
                budget: t.budget.map_or(pb::BudgetKind::Unspecified, pb::BudgetKind::from) as i32,
                failure: t.failure.map(|f| pb::FailureClass { kind: pb::FailureKind::from(f.kind) as i32, transient: f.transient }),
            }),
        };
        Self { seq: e.seq, timestamp: e.timestamp, round: e.round, event: Some(event) }
    }
}

impl TryFrom<pb::TrajectoryEvent> for TrajectoryEvent {
    type Error = ConvertError;
    fn try_from(e: pb::TrajectoryEvent) -> Result<Self, ConvertError> {
        use pb::trajectory_event::Event;
        let body = match e.event.ok_or(ConvertError::Missing("trajectory_event.event"))? {
            Event::Intent(i) => EventBody::Intent(i.try_into()?),
            Event::UserTurn(u) => EventBody::UserTurn(UserTurn {
                turn: u.turn,
                follow_up: u.follow_up.ok_or(ConvertError::Missing("user_turn.follow_up"))?.try_into()?,
            }),
            Event::Step(s) => EventBody::Step(s.try_into()?),
            Event::Verdict(v) => EventBody::Verdict(v.try_into()?),
            Event::Termination(t) => EventBody::Termination(Termination {
                reason: t.reason.try_into()?,
                detail: t.detail,
                budget: budget_kind(t.budget)?,
                failure: t.failure.map(|f| failure_kind(f.kind).map(|kind| FailureClass { kind, transient: f.transient })).transpose()?,
            }),
        };
        Ok(Self { seq: e.seq, timestamp: e.timestamp, round: e.round, body })
    }
}

impl From<Trajectory> for pb::Trajectory {
    fn from(t: Trajectory) -> Self {
        Self {
            trajectory_id: t.trajectory_id,
            user_id: t.user_id,
            events: t.events.into_iter().map(Into::into).collect(),
            models: t.models.into_iter().collect(),
            trace_id: t.trace_id,
            prompts: prompts_to_pb(t.prompts),
            tool_snapshot: t.tool_snapshot,
        }
    }
}

// ---- prompts -------------------------------------------------------------

// PromptRef is defined in the prompts crate, so these are functions (orphan rule).

/// Domain prompt refs → proto.
pub fn prompts_to_pb(prompts: Vec<PromptRef>) -> Vec<pb::PromptRef> {
    prompts.into_iter().map(|p| pb::PromptRef { name: p.name, sha256: p.sha256 }).collect()
}

/// Proto prompt refs → domain.
pub fn prompts_from_pb(prompts: Vec<pb::PromptRef>) -> Vec<PromptRef> {
    prompts.into_iter().map(|p| PromptRef { name: p.name, sha256: p.sha256 }).collect()
}

impl TryFrom<pb::Trajectory> for Trajectory {
    type Error = ConvertError;
    fn try_from(t: pb::Trajectory) -> Result<Self, ConvertError> {
        Ok(Self {
            trajectory_id: t.trajectory_id,
            user_id: t.user_id,
            events: t.events.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?,
            models: t.models.into_iter().collect(),
            trace_id: t.trace_id,
            prompts: prompts_from_pb(t.prompts),
            tool_snapshot: t.tool_snapshot,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Trajectory {
        let mut t = Trajectory::new("t1", "u1");
        t.push(0, EventBody::Intent(crate::fixtures::intent("q")));
        t.push(
            0,
            EventBody::Step(Step::call(
                ToolCall { id: "c0".into(), name: "product_search".into(), arguments: "{}".into() },
                "why",
                TokenUsage { prompt_tokens: 3, completion_tokens: 4 },
                "m",
            )),
        );
        t.push(0, EventBody::Verdict(Verdict::revise(SupervisorState::CheckToolcall, "fix")));
        t.push(1, EventBody::Termination(Termination::budget(BudgetKind::ReportRounds, "6 rounds")));
        t.models.insert("research-agent".into(), "m".into());
        t.tool_snapshot = "replay:out/tool-store".into();
        t
    }

    #[test]
    fn trajectory_round_trips_through_proto() {
        let t = sample();
        let back: Trajectory = pb::Trajectory::from(t.clone()).try_into().unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn unspecified_enum_is_named() {
        let mut p = pb::Trajectory::from(sample());
        if let Some(pb::trajectory_event::Event::Step(s)) = p.events[1].event.as_mut() {
            s.kind = 0;
        }
        let err = Trajectory::try_from(p).unwrap_err();
        assert_eq!(err, ConvertError::BadEnum("step.kind", 0));
    }

    #[test]
    fn validate_catches_a_step_without_verdict() {
        let mut t = sample();
        assert!(t.validate().is_ok());
        // Two steps in a row: the first never got its verdict.
        let step = t.events[1].clone();
        t.events.insert(2, step);
        for (i, e) in t.events.iter_mut().enumerate() {
            e.seq = i as u64;
        }
        assert!(t.validate().unwrap_err().contains("no verdict"));
    }

    #[test]
    fn validate_catches_gaps_and_missing_termination() {
        let mut t = sample();
        t.events[2].seq = 7;
        assert!(t.validate().unwrap_err().contains("seq"));
        let mut t = sample();
        t.events.pop();
        assert!(t.validate().unwrap_err().contains("termination"));
    }
}
