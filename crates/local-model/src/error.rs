//! Local model errors.

use std::path::PathBuf;

/// Why the local model could not be located, started or stopped. Every message is one
/// line, so a caller can print it as the whole error.
#[derive(Debug, thiserror::Error)]
pub enum LocalModelError {
    /// `scripts/setup-model.sh` has not run (or its output was removed or changed).
    /// The message names only the fix; `missing` says what was not found.
    #[error("local model not set up: run scripts/setup-model.sh (downloads ~500 MB once)")]
    NotSetUp {
        /// The file or directory that is missing or stale.
        missing: PathBuf,
    },
    /// `scripts/serve_model.py` is not where the config points.
    #[error("model server script not found: {path} (run from the workspace root or set `script` in the local model config)")]
    ScriptMissing {
        /// The path looked at.
        path: PathBuf,
    },
    /// The configuration cannot work.
    #[error("invalid local model configuration: {0}")]
    Config(String),
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The server process exited before `/health` answered 200.
    #[error("model server exited before it was ready ({status}); log tail: {log_tail}")]
    ExitedEarly {
        /// Exit status as the OS reported it.
        status: String,
        /// Last lines of `server.log`, joined with ` | `.
        log_tail: String,
    },
    /// `/health` did not answer 200 within `startup_timeout_secs`.
    #[error("model server not ready after {secs} s; log tail: {log_tail}")]
    StartupTimeout {
        /// The configured bound.
        secs: u64,
        /// Last lines of `server.log`, joined with ` | `.
        log_tail: String,
    },
    /// The loopback HTTP probe client could not be built or `/v1/models` failed.
    #[error("model server probe failed: {0}")]
    Probe(String),
}

impl LocalModelError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}
