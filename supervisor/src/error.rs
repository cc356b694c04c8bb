//! Errors of the supervisor.

use productresearch_runtime::failure::{self, Failure, FailureKind};

/// Why the supervisor could not serve a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is invalid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The record could not be written.
    #[error("cannot write trajectory record {path}: {source}")]
    Record {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The record store failed.
    #[error("record store: {0}")]
    Store(String),
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
    /// A model endpoint refuses every call: no trajectory can progress until
    /// its configuration is fixed; the records stay resumable.
    #[error("{0}")]
    EndpointBroken(String),
}

impl Failure for Error {
    fn failure_kind(&self) -> FailureKind {
        match self {
            Error::InvalidRequest(_) => FailureKind::InvalidInput,
            Error::Config(_) => FailureKind::Config,
            Error::EndpointBroken(_) => FailureKind::Endpoint,
            Error::Llm(e) => e.failure_kind(),
            Error::Record { .. } | Error::Store(_) | Error::Serve(_) | Error::Client(_) => FailureKind::Internal,
        }
    }

    /// A record store that failed may work on the next try (a full disk
    /// freed, an object store back); the trajectory resumes from its record.
    fn is_transient(&self) -> bool {
        match self {
            Error::Record { .. } | Error::Store(_) => true,
            Error::Llm(e) => e.is_transient(),
            _ => false,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        failure::to_status(&e)
    }
}
