//! Errors of the research agent.

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

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Protocol(_) => tonic::Status::invalid_argument(e.to_string()),
            _ => tonic::Status::internal(e.to_string()),
        }
    }
}
