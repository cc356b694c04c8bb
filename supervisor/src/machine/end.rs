//! How a trajectory ends: the round it ended in and its typed termination,
//! from a budget, a failure of the mesh or of the supervisor's own model, or
//! a caller that went away.

use productresearch_llm::LlmError;
use productresearch_record::{BudgetKind, FailureClass, Termination, TerminationReason};
use productresearch_runtime::failure::Failure;

use crate::error::Error;
use crate::mesh::MeshError;
use crate::resume::GaveUp;

/// How the loop ended: the round it ended in and why.
pub(super) struct End(pub(super) u32, pub(super) Termination);

impl End {
    pub(super) fn new(round: u32, reason: TerminationReason, detail: impl Into<String>) -> Self {
        Self(round, Termination::new(reason, detail))
    }
    pub(super) fn budget(round: u32, kind: BudgetKind, detail: impl Into<String>) -> Self {
        Self(round, Termination::budget(kind, detail))
    }
    /// How `e` ends the trajectory; a broken model endpoint ends the call
    /// instead (no trajectory can progress; the record stays resumable).
    pub(super) fn from_mesh(round: u32, e: MeshError) -> Result<Self, Error> {
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
    pub(super) fn gave_up(round: u32, e: MeshError, why: GaveUp) -> Result<Self, Error> {
        match why {
            GaveUp::Deadline => Ok(deadline_passed(round)),
            GaveUp::Patience => Self::from_mesh(round, e),
        }
    }
}

pub(super) fn deadline_passed(round: u32) -> End {
    End::new(round, TerminationReason::Cancelled, "the caller's deadline passed")
}

/// True once the deadline of the call being served has passed.
pub(super) fn past_deadline() -> bool {
    productresearch_runtime::context::deadline().is_some_and(|d| d <= std::time::Instant::now())
}

pub(super) fn cancelled(round: u32) -> End {
    End::new(round, TerminationReason::Cancelled, "the caller stopped listening")
}

/// The supervisor's own model failed: policy refusals (auth, content filters)
/// apart from other failures, transient ones marked by the mesh's one
/// definition (retries of a transient cause running out stay transient).
pub(super) fn classify(e: &LlmError) -> FailureClass {
    FailureClass { kind: e.failure_kind(), transient: e.is_transient() }
}
