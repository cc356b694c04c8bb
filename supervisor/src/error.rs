//! Errors of the supervisor.

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

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidRequest(_) => tonic::Status::invalid_argument(e.to_string()),
            Error::EndpointBroken(_) => tonic::Status::failed_precondition(e.to_string()),
            _ => tonic::Status::internal(e.to_string()),
        }
    }
}
