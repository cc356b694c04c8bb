//! The two ways things fail: a bad config at start, and an HTTP answer in OpenAI's error shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid sim-llm config file: {0}")]
    Parse(String),
    #[error("invalid sim-llm config: {0}")]
    Invalid(String),
}

impl From<ConfigError> for std::io::Error {
    fn from(e: ConfigError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

/// An error the simulator answers with; the body matches OpenAI's so client error
/// handling is exercised on the real shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("rate limit reached for simulated model, retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// Beyond a concurrency limit: no `Retry-After`, since a place frees
    /// whenever any answer ends, which the server cannot foretell.
    #[error("too many concurrent requests for simulated model (at most {0} at once)")]
    TooManyConcurrent(u64),
    #[error("simulated model is temporarily unavailable")]
    Unavailable { retry_after_secs: Option<u64> },
    #[error("simulated model had an internal error")]
    ServerError,
    #[error("simulated model is shutting down")]
    ShuttingDown,
    #[error("unknown url: {0}")]
    NotFound(String),
    #[error("incorrect api key provided")]
    Unauthorized,
    #[error("the model {0:?} does not exist")]
    ModelNotFound(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::RateLimited { .. } | Self::TooManyConcurrent(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotFound(_) | Self::ModelNotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
        }
    }

    /// OpenAI's `type` and `code` for each case.
    fn kind_and_code(&self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::InvalidRequest(_) => ("invalid_request_error", None),
            Self::RateLimited { .. } | Self::TooManyConcurrent(_) => ("requests", Some("rate_limit_exceeded")),
            Self::Unavailable { .. } | Self::ShuttingDown => ("server_error", Some("service_unavailable")),
            Self::ServerError => ("server_error", None),
            Self::NotFound(_) => ("invalid_request_error", Some("unknown_url")),
            Self::Unauthorized => ("invalid_request_error", Some("invalid_api_key")),
            Self::ModelNotFound(_) => ("invalid_request_error", Some("model_not_found")),
        }
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable { retry_after_secs } => *retry_after_secs,
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (kind, code) = self.kind_and_code();
        let body = json!({
            "error": { "message": self.to_string(), "type": kind, "param": null, "code": code }
        });
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
