//! Typed failures across service boundaries: the one error → status policy.
//!
//! Every service's error type implements [`Failure`] (its kind and whether it
//! is transient); [`to_status`] turns it into a status with the policy's code
//! ([`code`]) and the kind in the status metadata (`x-failure-kind`), so the
//! caller records a typed termination (model, tool or mesh failure) without
//! parsing messages. Checks in a handler that have no error variant use
//! [`status`] with a kind, never a bare `tonic::Status`.
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

/// The one failure kind of the mesh (defined with the record, which stores it).
pub use productresearch_record::FailureKind;

/// An error a service can answer a call with. Every service's error type
/// implements this, and its `From<Error> for tonic::Status` is [`to_status`]:
/// one policy decides the code, and every such status carries its kind.
pub trait Failure: std::fmt::Display {
    /// What failed.
    fn failure_kind(&self) -> FailureKind;

    /// True when trying again later may succeed (see the module docs).
    fn is_transient(&self) -> bool {
        false
    }
}

/// The gRPC code of a failure: a transient one is UNAVAILABLE whatever its
/// kind (what gRPC retry policies and [`transient_grpc`] treat as worth a
/// retry); a permanent one gets its kind's code.
pub fn code(kind: FailureKind, transient: bool) -> tonic::Code {
    use tonic::Code;
    if transient {
        return Code::Unavailable;
    }
    match kind {
        FailureKind::InvalidInput | FailureKind::Protocol => Code::InvalidArgument,
        FailureKind::Config | FailureKind::Endpoint => Code::FailedPrecondition,
        FailureKind::Policy => Code::PermissionDenied,
        FailureKind::Mesh => Code::Unavailable,
        FailureKind::Model | FailureKind::Tool | FailureKind::Internal => Code::Internal,
    }
}

/// The status a service answers with for `e`.
pub fn to_status<E: Failure + ?Sized>(e: &E) -> tonic::Status {
    status_of(e.failure_kind(), e.is_transient(), e.to_string())
}

/// A permanent failure of `kind` as a status (for checks in a service's
/// handler that have no error variant of their own).
pub fn status(kind: FailureKind, message: impl Into<String>) -> tonic::Status {
    status_of(kind, false, message)
}

/// A failure of `kind` as a status: the policy's code and the kind in
/// [`FAILURE_KIND_KEY`].
pub fn status_of(kind: FailureKind, transient: bool, message: impl Into<String>) -> tonic::Status {
    let mut s = tonic::Status::new(code(kind, transient), message);
    s.metadata_mut().insert(FAILURE_KIND_KEY, tonic::metadata::MetadataValue::from_static(kind.as_str()));
    s
}

/// The failure kind a status carries, if any.
pub fn kind_of(status: &tonic::Status) -> Option<FailureKind> {
    FailureKind::from_name(status.metadata().get(FAILURE_KIND_KEY)?.to_str().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_survives_the_status() {
        for kind in FailureKind::ALL {
            let s = status_of(kind, true, "model down");
            assert_eq!((kind_of(&s), s.code()), (Some(kind), tonic::Code::Unavailable));
            let s = status(kind, "unusable output");
            assert_eq!((kind_of(&s), s.code()), (Some(kind), code(kind, false)));
        }
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
        assert!(!transient_grpc(&status(FailureKind::Model, "unusable output")));
        assert!(!transient_grpc(&status(FailureKind::Config, "no judge model configured")));
        assert!(transient_grpc(&status_of(FailureKind::Tool, true, "gateway restarting")));
        assert!(!transient_grpc(&tonic::Status::invalid_argument("bad history")));
    }
}
