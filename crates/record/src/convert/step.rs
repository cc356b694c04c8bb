//! Steps and verdicts.

use productresearch_proto::common::v1 as pb;

use super::{ConvertError, en, prompts_from_pb, prompts_to_pb, usage_from};
use crate::*;

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
