//! What a tool call ends as: content for the agent, or an error it can act
//! on. Shared by the tools, the backends that answer them (whose failures
//! carry a kind) and the gRPC service that sends them.

use crate::error::Error;

/// Why a tool call failed (mirrors the API's `ToolErrorKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolErrorKind {
    /// No tool of that name.
    UnknownTool,
    /// The arguments do not match the tool's schema.
    InvalidArguments,
    /// The product or page asked for does not exist.
    NotFound,
    /// The backend failed or is not configured.
    Backend,
    /// The fetch policy refused the request.
    Policy,
}

/// The result of one tool call: content for the agent, or an error message for
/// it (`error` set).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    pub content: String,
    pub error: Option<ToolErrorKind>,
}

impl ToolOutcome {
    pub fn ok(content: String) -> Self {
        ToolOutcome { content, error: None }
    }

    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

/// A failed tool call, on its way to becoming a [`ToolOutcome`].
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    pub kind: ToolErrorKind,
    pub message: String,
}

impl ToolError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ToolError { kind: ToolErrorKind::InvalidArguments, message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ToolError { kind: ToolErrorKind::NotFound, message: message.into() }
    }

    /// A backend failure: logged in full here, reported briefly to the agent,
    /// which can only try something else.
    pub fn backend(tool: &str, e: &Error) -> Self {
        tracing::error!(tool, error = %e, "tool backend failed");
        ToolError { kind: ToolErrorKind::Backend, message: format!("{tool} failed: {e}") }
    }
}

impl ToolError {
    pub fn into_outcome(self) -> ToolOutcome {
        ToolOutcome { content: self.message, error: Some(self.kind) }
    }
}

impl From<Result<String, ToolError>> for ToolOutcome {
    fn from(result: Result<String, ToolError>) -> Self {
        match result {
            Ok(content) => ToolOutcome::ok(content),
            Err(e) => ToolOutcome { content: e.message, error: Some(e.kind) },
        }
    }
}
