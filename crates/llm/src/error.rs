//! Model call errors.

use std::time::Duration;

use productresearch_runtime::failure::{Failure, FailureKind};

/// Why a model call failed. Callers record these as failures; none of them is
/// ever passed on as model output.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    /// The endpoint could not be reached.
    #[error("model endpoint {url} unreachable: {message}")]
    Connect {
        /// Endpoint URL.
        url: String,
        /// Transport error.
        message: String,
    },
    /// One attempt took longer than the configured timeout.
    #[error("model call timed out after {0:?}")]
    Timeout(Duration),
    /// The endpoint answered with an error status.
    #[error("model endpoint answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Start of the response body.
        body: String,
        /// Seconds the endpoint asked us to wait (Retry-After).
        #[doc(hidden)]
        retry_after: Option<Duration>,
    },
    /// The response was not a valid chat completion.
    #[error("model endpoint sent a malformed response: {0}")]
    Malformed(String),
    /// The completion was valid but its content is not what the role needs.
    #[error("model output unusable: {0}")]
    Unusable(String),
    /// Transient failures exhausted the retries.
    #[error("model call failed after {attempts} attempts: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<LlmError>,
    },
    /// The configuration cannot work.
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// The endpoint refused call after call with the same status (a wrong
    /// key, a wrong model name): its circuit breaker is open and no call is
    /// sent until the cool-down passes.
    #[error("{role} model endpoint {url} refuses every call (last {status}: {body}); check its api key and model name")]
    EndpointBroken {
        /// The role using the endpoint.
        role: String,
        /// Endpoint URL.
        url: String,
        /// The status it kept answering.
        status: u16,
        /// Start of the last response body.
        body: String,
    },
}

impl LlmError {
    /// True when trying again later may succeed, by the mesh's one definition
    /// (`productresearch_runtime::failure`): transport failures, timeouts,
    /// transient HTTP statuses, malformed bodies (a proxy cut the stream), and
    /// the retries of any of these running out — the cause is still one that
    /// passes.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout(_) | Self::Malformed(_) => true,
            Self::Status { status, .. } => productresearch_runtime::failure::transient_http(*status),
            Self::Exhausted { last, .. } => last.is_transient(),
            Self::Unusable(_) | Self::Config(_) | Self::EndpointBroken { .. } => false,
        }
    }

    /// True when the endpoint itself is broken for every caller (its circuit
    /// breaker is open): no trajectory can progress, so a batch should stop
    /// rather than fail them one by one.
    pub fn is_endpoint_broken(&self) -> bool {
        matches!(self, Self::EndpointBroken { .. })
    }

    /// A short class of the failure for the `error.type` attribute.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect { .. } => "connect",
            Self::Timeout(_) => "timeout",
            Self::Status { .. } => "http_status",
            Self::Malformed(_) => "malformed_response",
            Self::Unusable(_) => "unusable_output",
            Self::Exhausted { .. } => "retries_exhausted",
            Self::Config(_) => "config",
            Self::EndpointBroken { .. } => "endpoint_broken",
        }
    }

    /// How long the endpoint asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Failure for LlmError {
    /// What failed, as the mesh records it: a refusal for auth or a content
    /// filter (401, 403, 451) is a policy failure, a breaker that is open an
    /// endpoint failure, anything else the model's.
    fn failure_kind(&self) -> FailureKind {
        match self {
            Self::Exhausted { last, .. } => last.failure_kind(),
            Self::Status { status: 401 | 403 | 451, .. } => FailureKind::Policy,
            Self::EndpointBroken { .. } => FailureKind::Endpoint,
            Self::Config(_) => FailureKind::Config,
            Self::Connect { .. } | Self::Timeout(_) | Self::Status { .. } | Self::Malformed(_) | Self::Unusable(_) => FailureKind::Model,
        }
    }

    fn is_transient(&self) -> bool {
        LlmError::is_transient(self)
    }
}
