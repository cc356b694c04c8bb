//! Typed failures across service boundaries.
//!
//! A unary call that fails because of a model or a tool carries the kind in the
//! status metadata (`x-failure-kind`), so the caller can record a typed
//! termination (model failure vs. mesh failure) without parsing messages.
//!
//! # What "transient" means (the one definition every service uses)
//!
//! A failure is **transient** when its cause may pass with time and nothing
//! about the trajectory has to change for a later try to succeed: a peer that
//! is unreachable or restarting, a connection or stream cut, a timeout or a
//! passed deadline, a cancelled call, an endpoint that is rate limiting or
//! overloaded (408, 409, 425, 429, 5xx), a response body cut short — and the
//! retries of any of these running out, which does not change the cause.
//!
//! A failure is **permanent** when trying again cannot help: a cap or budget
//! reached, invalid input, model output that stayed unusable after its
//! re-asks, an endpoint that refuses the request itself (400, 401, 403, 404,
//! 422, …), a peer that broke the protocol. Only permanent failures end a
//! trajectory for good; the record says which one it was
//! (`failure.transient`), and a re-run resumes every transient one.

/// Metadata key that carries the failure kind.
pub const FAILURE_KIND_KEY: &str = "x-failure-kind";

/// True for an HTTP status whose cause may pass: 408, 409, 425, 429 and 5xx.
pub fn transient_http(status: u16) -> bool {
    matches!(status, 408 | 409 | 425 | 429) || status >= 500
}

/// True for a gRPC status whose cause may pass: the peer unreachable, the
/// stream cut, a deadline or a cancellation, an overloaded peer, and an
/// internal error that no service marked as a typed failure (a stream cut
/// mid-message surfaces as one).
pub fn transient_grpc(status: &tonic::Status) -> bool {
    use tonic::Code;
    match status.code() {
        Code::Unavailable | Code::Unknown | Code::Aborted | Code::ResourceExhausted | Code::DeadlineExceeded | Code::Cancelled => true,
        Code::Internal => kind_of(status).is_none(),
        _ => false,
    }
}

/// Kinds of failure a caller distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A model call failed after retries or its output stayed unusable.
    Model,
    /// A tool or its backend failed.
    Tool,
    /// A model endpoint refuses every call (wrong key, wrong model name): no
    /// trajectory can make progress until its configuration is fixed.
    Endpoint,
}

impl FailureKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Tool => "tool",
            Self::Endpoint => "endpoint",
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
        "endpoint" => Some(FailureKind::Endpoint),
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

    #[test]
    fn transience_follows_the_cause() {
        for s in [408, 409, 425, 429, 500, 502, 503, 504] {
            assert!(transient_http(s), "{s}");
        }
        for s in [400, 401, 403, 404, 422, 451] {
            assert!(!transient_http(s), "{s}");
        }
        assert!(transient_grpc(&tonic::Status::unavailable("connection refused")));
        assert!(transient_grpc(&tonic::Status::deadline_exceeded("deadline passed")));
        assert!(transient_grpc(&tonic::Status::internal("h2 stream reset")));
        assert!(!transient_grpc(&status(FailureKind::Model, tonic::Code::Internal, "unusable output")));
        assert!(!transient_grpc(&tonic::Status::invalid_argument("bad history")));
    }
}
