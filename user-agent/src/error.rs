//! Errors of the user agent.

use productresearch_llm::LlmError;
use productresearch_runtime::failure::{self, FailureKind};

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

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match &e {
            Error::InvalidHistory(_) => tonic::Status::invalid_argument(e.to_string()),
            // The breaker's message names the role and the endpoint: the
            // batch stops with it as it is.
            Error::Model(m) if m.is_endpoint_broken() => {
                failure::status(FailureKind::Endpoint, tonic::Code::FailedPrecondition, m.to_string())
            }
            Error::Model(m) if m.is_transient() => failure::status(FailureKind::Model, tonic::Code::Unavailable, e.to_string()),
            Error::Model(_) | Error::InvalidIntent(_) => failure::status(FailureKind::Model, tonic::Code::Internal, e.to_string()),
            Error::Serve(_) | Error::Config(_) => tonic::Status::internal(e.to_string()),
        }
    }
}
