//! Errors of the distiller. A trajectory that does not make a training example is
//! not one of them: it is a [`crate::Drop`] with the filter that dropped it.

use productresearch_runtime::failure::{self, Failure, FailureKind};

/// Why a distillation or the server failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is unusable (not one of its trajectories: those are dropped).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A configuration value is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An example the distiller built breaks a rule of the export format. This is
    /// the distiller's own bug, so the whole call fails instead of exporting it.
    #[error("trajectory {trajectory_id}: exported example breaks rule {rule}: {detail}")]
    InvalidExample {
        /// Trajectory the example came from.
        trajectory_id: String,
        /// Name of the broken rule (see [`crate::validate`]).
        rule: &'static str,
        /// What exactly is wrong.
        detail: String,
    },
    /// The worker task running a distillation died.
    #[error("distill task failed: {0}")]
    Task(String),
    /// The gRPC server failed.
    #[error(transparent)]
    Serve(#[from] productresearch_runtime::server::ServeError),
}

impl Failure for Error {
    fn failure_kind(&self) -> FailureKind {
        match self {
            Error::InvalidRequest(_) => FailureKind::InvalidInput,
            Error::Config(_) => FailureKind::Config,
            // An invalid example is not the caller's fault: its trajectories passed
            // every filter, so the distiller built something it must not export.
            Error::InvalidExample { .. } | Error::Task(_) | Error::Serve(_) => FailureKind::Internal,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        failure::to_status(&e)
    }
}
