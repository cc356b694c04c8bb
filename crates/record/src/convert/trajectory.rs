//! Trajectory events, terminations and whole trajectories.

use productresearch_proto::common::v1 as pb;

use super::{ConvertError, en, prompts_from_pb, prompts_to_pb};
use crate::*;

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
            FailureKind::Endpoint => Self::Endpoint,
            FailureKind::Config => Self::Config,
            FailureKind::InvalidInput => Self::InvalidInput,
            FailureKind::Internal => Self::Internal,
        }
    }
}

/// The kind an `i32` of the proto's `FailureKind` names; `field` says where it
/// came from for the error.
pub fn failure_kind(field: &'static str, v: i32) -> Result<FailureKind, ConvertError> {
    Ok(match en::<pb::FailureKind>(field, v)? {
        pb::FailureKind::Model => FailureKind::Model,
        pb::FailureKind::Tool => FailureKind::Tool,
        pb::FailureKind::Policy => FailureKind::Policy,
        pb::FailureKind::Protocol => FailureKind::Protocol,
        pb::FailureKind::Mesh => FailureKind::Mesh,
        pb::FailureKind::Endpoint => FailureKind::Endpoint,
        pb::FailureKind::Config => FailureKind::Config,
        pb::FailureKind::InvalidInput => FailureKind::InvalidInput,
        pb::FailureKind::Internal => FailureKind::Internal,
        pb::FailureKind::Unspecified => return Err(ConvertError::BadEnum(field, v)),
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
                failure: t
                    .failure
                    .map(|f| failure_kind("termination.failure.kind", f.kind).map(|kind| FailureClass { kind, transient: f.transient }))
                    .transpose()?,
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
    fn a_trajectory_written_before_the_snapshot_id_loads() {
        // A trajectories.jsonl line as written before records carried `tool_snapshot`.
        let line = r#"{"trajectory_id":"t1","user_id":"u1","events":[],"models":{"supervisor":"m"}}"#;
        let t: Trajectory = serde_json::from_str(line).unwrap();
        assert_eq!(t.tool_snapshot, "");
        assert!(!serde_json::to_string(&t).unwrap().contains("tool_snapshot"), "an empty id is not written");
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
