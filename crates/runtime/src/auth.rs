//! Bearer tokens for callers from outside the mesh (training pipelines calling
//! the supervisor and the distiller).
//!
//! A server whose config names a token source requires `authorization: Bearer
//! <token>` on every call except gRPC health (kubelet probes carry no token).
//! Tokens come from a file (a mounted Secret, one per line, so two tokens can
//! overlap during a rotation) or an environment variable. Only their SHA-256
//! digests are kept, and a presented token is compared with each in constant
//! time; digests of equal length also hide the accepted tokens' lengths. No
//! token, presented or accepted, is ever logged or put in an error message.

use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Path prefix of the calls that stay open (gRPC health, for probes).
const OPEN_PREFIX: &str = "/grpc.health.v1.Health/";

/// Where a server finds the bearer tokens it accepts. Neither set: no auth.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// File of accepted tokens, one per line; blank lines and `#` comments are skipped.
    pub bearer_tokens_file: Option<PathBuf>,
    /// Name of an environment variable holding accepted tokens (separated by
    /// commas or whitespace).
    pub bearer_tokens_env: Option<String>,
}

/// Why the token source could not be read. Names the source, never a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The tokens file cannot be read.
    #[error("auth: cannot read bearer tokens file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// The I/O error kind.
        reason: std::io::ErrorKind,
    },
    /// The environment variable is not set.
    #[error("auth: environment variable {0} (server.auth.bearer_tokens_env) is not set")]
    Env(String),
    /// A source is configured but holds no token: refusing to start open.
    #[error("auth: the configured bearer token source holds no token")]
    Empty,
}

/// The accepted tokens, as digests.
#[derive(Clone)]
pub struct Tokens {
    digests: Arc<Vec<[u8; 32]>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} accepted)", self.digests.len())
    }
}

impl Tokens {
    /// Accepts exactly `tokens`.
    pub fn new<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Self {
        Self { digests: Arc::new(tokens.into_iter().map(digest).collect()) }
    }

    /// Whether `presented` is one of the accepted tokens, in time independent
    /// of where (or whether) it matches.
    pub fn accepts(&self, presented: &str) -> bool {
        let d = digest(presented);
        let mut ok = subtle::Choice::from(0);
        for accepted in self.digests.iter() {
            ok |= accepted.ct_eq(&d);
        }
        ok.into()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl AuthConfig {
    /// Whether the server requires a token.
    pub fn enabled(&self) -> bool {
        self.bearer_tokens_file.is_some() || self.bearer_tokens_env.is_some()
    }

    /// Reads the accepted tokens, or `None` when auth is off.
    pub fn load(&self) -> Result<Option<Tokens>, AuthError> {
        if !self.enabled() {
            return Ok(None);
        }
        let mut tokens = Vec::new();
        if let Some(path) = &self.bearer_tokens_file {
            let text = std::fs::read_to_string(path).map_err(|e| AuthError::File { path: path.display().to_string(), reason: e.kind() })?;
            tokens.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
        }
        if let Some(var) = &self.bearer_tokens_env {
            let value = std::env::var(var).map_err(|_| AuthError::Env(var.clone()))?;
            tokens.extend(value.split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()).map(String::from));
        }
        if tokens.is_empty() {
            return Err(AuthError::Empty);
        }
        Ok(Some(Tokens::new(tokens.iter().map(String::as_str))))
    }
}

/// The token of an `authorization` header value (`Bearer <token>`, scheme
/// case-insensitive).
fn bearer(value: &http::HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Tower layer that refuses calls without an accepted bearer token.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    tokens: Option<Tokens>,
}

impl AuthLayer {
    /// Checks tokens against `tokens`; `None` lets every call through.
    pub fn new(tokens: Option<Tokens>) -> Self {
        Self { tokens }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, tokens: self.tokens.clone() }
    }
}

/// See [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    tokens: Option<Tokens>,
}

impl<S, B, R> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let Some(tokens) = &self.tokens else {
            return Either::Left(self.inner.call(req));
        };
        if req.uri().path().starts_with(OPEN_PREFIX) {
            return Either::Left(self.inner.call(req));
        }
        let accepted = req.headers().get(http::header::AUTHORIZATION).and_then(bearer).is_some_and(|t| tokens.accepts(t));
        if accepted {
            return Either::Left(self.inner.call(req));
        }
        // The method is logged, the header never is.
        tracing::warn!(rpc.method = %req.uri().path(), "refused a call without a valid bearer token");
        Either::Right(ready(Ok(tonic::Status::unauthenticated("missing or invalid bearer token").into_http())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_configured_tokens() {
        let t = Tokens::new(["alpha-token", "beta-token"]);
        assert!(t.accepts("alpha-token"));
        assert!(t.accepts("beta-token"));
        assert!(!t.accepts("alpha-token "));
        assert!(!t.accepts(""));
        assert!(format!("{t:?}").contains("2 accepted"));
    }

    #[test]
    fn reads_tokens_from_a_file_skipping_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# rotated 2026-01\nfirst\n\n  second  \n").unwrap();
        let t = AuthConfig { bearer_tokens_file: Some(path), bearer_tokens_env: None }.load().unwrap().unwrap();
        assert!(t.accepts("first") && t.accepts("second") && !t.accepts("# rotated 2026-01"));
    }

    #[test]
    fn an_empty_source_refuses_to_start_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "\n# nothing\n").unwrap();
        let err = AuthConfig { bearer_tokens_file: Some(path), bearer_tokens_env: None }.load().unwrap_err();
        assert!(matches!(err, AuthError::Empty));
    }

    #[test]
    fn parses_the_bearer_scheme() {
        assert_eq!(bearer(&http::HeaderValue::from_static("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&http::HeaderValue::from_static("bearer abc")), Some("abc"));
        assert_eq!(bearer(&http::HeaderValue::from_static("Basic abc")), None);
        assert_eq!(bearer(&http::HeaderValue::from_static("abc")), None);
    }
}
