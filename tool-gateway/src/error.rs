//! Errors of the gateway itself. A bad tool call is not one of them: it is a
//! [`crate::ToolOutcome`] the agent reads.

use std::io;
use std::path::Path;

use productresearch_runtime::failure::{self, Failure, FailureKind};

/// Why the gateway could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A catalog file could not be read.
    #[error("catalog {path}: {reason}")]
    Catalog { path: String, reason: String },
    /// The web corpus folder or its index could not be read.
    #[error("web corpus {path}: {reason}")]
    WebCorpus { path: String, reason: String },
    /// Building or querying a search index failed.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A tool's JSON schema does not compile (a bug in the gateway).
    #[error("tool {tool}: invalid argument schema: {reason}")]
    ToolSchema { tool: &'static str, reason: String },
    /// A tool call's worker task died.
    #[error("tool call task failed: {0}")]
    Task(String),
    /// The gRPC server failed.
    #[error(transparent)]
    Serve(#[from] productresearch_runtime::server::ServeError),
}

impl Error {
    pub(crate) fn catalog(path: &Path, e: &io::Error) -> Self {
        Error::Catalog { path: path.display().to_string(), reason: path_reason(path, e) }
    }

    pub(crate) fn web_corpus(path: &Path, e: &io::Error) -> Self {
        Error::WebCorpus { path: path.display().to_string(), reason: path_reason(path, e) }
    }
}

/// [`io_reason`], and for a relative path that is not there, the folder it
/// was looked for in: relative paths mean the working directory, which is
/// not always the one the user thinks of.
fn path_reason(path: &Path, e: &io::Error) -> String {
    let reason = io_reason(e);
    match std::env::current_dir() {
        Ok(cwd) if e.kind() == io::ErrorKind::NotFound && path.is_relative() => {
            format!("{reason} (relative to the working directory {})", cwd.display())
        }
        _ => reason,
    }
}

/// A short lowercase reason for an I/O error, for one-line start-up messages
/// (`catalog demo/x.jsonl: no such file`).
pub(crate) fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory".into(),
        io::ErrorKind::InvalidData => "not valid utf-8".into(),
        _ => e.to_string(),
    }
}

impl Failure for Error {
    /// Every variant is the gateway's own failure, a tool failure to its
    /// callers: they cannot fix it by changing the request.
    fn failure_kind(&self) -> FailureKind {
        match self {
            Error::Config(_) => FailureKind::Config,
            _ => FailureKind::Tool,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        failure::to_status(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gateway's failures reach its callers as tool failures (or a
    /// configuration one), with the policy's code.
    #[test]
    fn errors_are_tool_failures_to_callers() {
        let task: tonic::Status = Error::Task("tool panicked".into()).into();
        assert_eq!((task.code(), failure::kind_of(&task)), (tonic::Code::Internal, Some(FailureKind::Tool)));
        let config: tonic::Status = Error::Config("bad cache size".into()).into();
        assert_eq!((config.code(), failure::kind_of(&config)), (tonic::Code::FailedPrecondition, Some(FailureKind::Config)));
    }
}
