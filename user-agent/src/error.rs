//! Errors of the user agent.

use productresearch_llm::LlmError;
use productresearch_runtime::failure::{self, Failure, FailureKind};

/// Why an intent could not be inferred.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The history is unusable.
    #[error("invalid history: {0}")]
    InvalidHistory(String),
    /// The model call failed.
    #[error("intent model failed: {0}")]
    Model(#[from] LlmError),
    /// The model answered, but not with a valid intent.
    #[error("intent model output invalid: {0}")]
    InvalidIntent(String),
    /// The server could not start or failed.
    #[error(transparent)]
    Serve(#[from] productresearch_runtime::server::ServeError),
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Failure for Error {
    fn failure_kind(&self) -> FailureKind {
        match self {
            Error::InvalidHistory(_) => FailureKind::InvalidInput,
            Error::Model(m) => m.failure_kind(),
            Error::InvalidIntent(_) => FailureKind::Model,
            Error::Config(_) => FailureKind::Config,
            Error::Serve(_) => FailureKind::Internal,
        }
    }

    fn is_transient(&self) -> bool {
        matches!(self, Error::Model(m) if m.is_transient())
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match &e {
            // The breaker's message names the role and the endpoint: the
            // batch stops with it as it is.
            Error::Model(m) if m.is_endpoint_broken() => failure::status(FailureKind::Endpoint, m.to_string()),
            _ => failure::to_status(&e),
        }
    }
}
