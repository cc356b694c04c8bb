//! The middleware every remote backend (web search providers, live page
//! fetches) runs behind, composed here and nowhere else. Outermost first:
//!
//! 1. response cache (moka): a repeated request costs nothing, and only
//!    successes are kept;
//! 2. retry: transient failures only (timeouts, 429, 5xx, connection errors),
//!    with exponential backoff, bounded attempts; a refusal or a 404 is final;
//! 3. buffer: makes the stack shareable (the rate limiter is not `Clone`);
//! 4. concurrency limit: calls in flight to this backend;
//! 5. rate limit: calls per second to this backend (providers bill and
//!    throttle per second);
//! 6. timeout: per attempt.
//!
//! The stack is built on first use, inside the runtime that serves the call
//! (the buffer's worker is a task).

use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tower::util::BoxCloneSyncService;
use tower::{BoxError, ServiceBuilder, ServiceExt};

use crate::outcome::ToolErrorKind;

/// Limits of one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiddlewareConfig {
    /// Per attempt.
    pub timeout_ms: u64,
    pub max_concurrency: usize,
    /// Calls per second.
    pub rate_per_second: u64,
    /// Retries after the first attempt, transient failures only.
    pub max_retries: u32,
    /// First backoff; doubled per retry.
    pub backoff_ms: u64,
    /// Responses kept; 0 switches the cache off.
    pub cache_entries: u64,
    pub cache_ttl_secs: u64,
}

impl Default for MiddlewareConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 15_000,
            max_concurrency: 8,
            rate_per_second: 5,
            max_retries: 2,
            backoff_ms: 200,
            cache_entries: 1_000,
            cache_ttl_secs: 3_600,
        }
    }
}

/// A backend failure as the tool reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    pub kind: ToolErrorKind,
    pub message: String,
    /// Worth retrying: the same request may succeed later.
    pub transient: bool,
}

impl BackendError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self { kind: ToolErrorKind::Backend, message: message.into(), transient: true }
    }

    pub fn permanent(kind: ToolErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), transient: false }
    }

    /// Anything a tower layer returns (a timeout, an overloaded buffer) or the
    /// backend's own error.
    fn from_box(e: BoxError) -> Self {
        match e.downcast::<BackendError>() {
            Ok(e) => *e,
            Err(e) if e.is::<tower::timeout::error::Elapsed>() => Self::transient("timed out"),
            Err(e) => Self::transient(e.to_string()),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Handler<Req, Res> = Arc<dyn Fn(Req) -> BoxFuture<Result<Res, BackendError>> + Send + Sync>;

/// One backend behind the middleware.
pub struct Backend<Req, Res> {
    name: &'static str,
    config: MiddlewareConfig,
    handler: Handler<Req, Res>,
    stack: OnceLock<BoxCloneSyncService<Req, Res, BoxError>>,
    cache: Option<moka::future::Cache<Req, Res>>,
}

impl<Req, Res> Backend<Req, Res>
where
    Req: Clone + Hash + Eq + Send + Sync + 'static,
    Res: Clone + Send + Sync + 'static,
{
    pub fn new<F, Fut>(name: &'static str, config: MiddlewareConfig, handler: F) -> Self
    where
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Res, BackendError>> + Send + 'static,
    {
        let cache = (config.cache_entries > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(config.cache_entries)
                .time_to_live(Duration::from_secs(config.cache_ttl_secs.max(1)))
                .build()
        });
        let handler: Handler<Req, Res> = Arc::new(move |req| Box::pin(handler(req)));
        Self { name, config, handler, stack: OnceLock::new(), cache }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn stack(&self) -> BoxCloneSyncService<Req, Res, BoxError> {
        self.stack
            .get_or_init(|| {
                let c = &self.config;
                let handler = Arc::clone(&self.handler);
                let inner = tower::service_fn(move |req: Req| {
                    let call = handler(req);
                    async move { call.await.map_err(BoxError::from) }
                });
                let service = ServiceBuilder::new()
                    .retry(TransientRetry { left: c.max_retries, backoff: Duration::from_millis(c.backoff_ms) })
                    .buffer(c.max_concurrency.max(1) * 4)
                    .concurrency_limit(c.max_concurrency.max(1))
                    .rate_limit(c.rate_per_second.max(1), Duration::from_secs(1))
                    .timeout(Duration::from_millis(c.timeout_ms.max(1)))
                    .service(inner);
                BoxCloneSyncService::new(service)
            })
            .clone()
    }

    /// Calls the backend through the cache and the stack.
    pub async fn call(&self, req: Req) -> Result<Res, BackendError> {
        let attempt = {
            let stack = self.stack();
            let req = req.clone();
            async move { stack.oneshot(req).await.map_err(BackendError::from_box) }
        };
        match &self.cache {
            Some(cache) => cache.try_get_with(req, attempt).await.map_err(|e| (*e).clone()),
            None => attempt.await,
        }
    }
}

/// Retries transient failures only, with doubling backoff.
#[derive(Clone)]
struct TransientRetry {
    left: u32,
    backoff: Duration,
}

impl<Req: Clone, Res> tower::retry::Policy<Req, Res, BoxError> for TransientRetry {
    type Future = Pin<Box<tokio::time::Sleep>>;

    fn retry(&mut self, _req: &mut Req, result: &mut Result<Res, BoxError>) -> Option<Self::Future> {
        let transient = match result {
            Ok(_) => false,
            Err(e) => e.downcast_ref::<BackendError>().is_none_or(|b| b.transient),
        };
        if !transient || self.left == 0 {
            return None;
        }
        self.left -= 1;
        let wait = self.backoff;
        self.backoff *= 2;
        Some(Box::pin(tokio::time::sleep(wait)))
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick() -> MiddlewareConfig {
        MiddlewareConfig { backoff_ms: 1, rate_per_second: 1000, ..MiddlewareConfig::default() }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_successes_cached() {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&calls);
        let backend = Backend::new("flaky", quick(), move |q: String| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err(BackendError::transient("503")) } else { Ok(format!("answer {q}")) } }
        });
        assert_eq!(backend.call("a".into()).await.unwrap(), "answer a");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(backend.call("a".into()).await.unwrap(), "answer a");
        assert_eq!(calls.load(Ordering::SeqCst), 3, "served from the cache");
    }

    #[tokio::test]
    async fn permanent_failures_are_not_retried_nor_cached() {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&calls);
        let backend = Backend::new("strict", quick(), move |_: String| {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Err::<String, _>(BackendError::permanent(ToolErrorKind::Policy, "refused")) }
        });
        assert_eq!(backend.call("a".into()).await.unwrap_err().kind, ToolErrorKind::Policy);
        assert_eq!(backend.call("a".into()).await.unwrap_err().message, "refused");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn slow_attempts_time_out_and_retries_are_bounded() {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&calls);
        let config = MiddlewareConfig { timeout_ms: 20, max_retries: 1, ..quick() };
        let backend = Backend::new("slow", config, move |_: String| {
            seen.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<_, BackendError>(String::new())
            }
        });
        let err = backend.call("a".into()).await.unwrap_err();
        assert!(err.transient && err.message == "timed out", "{err:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
