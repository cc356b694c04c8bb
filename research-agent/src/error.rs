//! Errors of the research agent.

use productresearch_runtime::failure::{self, Failure, FailureKind};

/// Why the agent could not serve or continue a session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The supervisor broke the session protocol.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The server could not start or failed.
    #[error(transparent)]
    Serve(#[from] productresearch_runtime::server::ServeError),
    /// A client could not be built.
    #[error(transparent)]
    Client(#[from] productresearch_runtime::client::ClientError),
    /// The model client could not be built.
    #[error(transparent)]
    Llm(#[from] productresearch_llm::LlmError),
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Failure for Error {
    fn failure_kind(&self) -> FailureKind {
        match self {
            Error::Protocol(_) => FailureKind::Protocol,
            Error::Config(_) => FailureKind::Config,
            Error::Llm(e) => e.failure_kind(),
            Error::Serve(_) | Error::Client(_) => FailureKind::Internal,
        }
    }

    fn is_transient(&self) -> bool {
        matches!(self, Error::Llm(e) if e.is_transient())
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        failure::to_status(&e)
    }
}
