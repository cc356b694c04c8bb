//! Typed failures across service boundaries.
//!
//! A unary call that fails because of a model or a tool carries the kind in the
//! status metadata (`x-failure-kind`), so the caller can record a typed
//! termination (model failure vs. mesh failure) without parsing messages.

/// Metadata key that carries the failure kind.
pub const FAILURE_KIND_KEY: &str = "x-failure-kind";

/// Kinds of failure a caller distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A model call failed after retries or its output stayed unusable.
    Model,
    /// A tool or its backend failed.
    Tool,
}

impl FailureKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Tool => "tool",
        }
    }
}

/// A status of `code` with `message` that says it was a failure of `kind`.
pub fn status(kind: FailureKind, code: tonic::Code, message: impl Into<String>) -> tonic::Status {
    let mut s = tonic::Status::new(code, message);
    s.metadata_mut().insert(FAILURE_KIND_KEY, tonic::metadata::MetadataValue::from_static(kind.as_str()));
    s
}

/// The failure kind a status carries, if any.
pub fn kind_of(status: &tonic::Status) -> Option<FailureKind> {
    match status.metadata().get(FAILURE_KIND_KEY)?.to_str().ok()? {
        "model" => Some(FailureKind::Model),
        "tool" => Some(FailureKind::Tool),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_survives_the_status() {
        let s = status(FailureKind::Model, tonic::Code::Unavailable, "model down");
        assert_eq!(kind_of(&s), Some(FailureKind::Model));
        assert_eq!(kind_of(&tonic::Status::unavailable("x")), None);
    }
}
