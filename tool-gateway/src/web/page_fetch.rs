//! Live pages for `web_visit`: anything that fetches a URL under the fetch
//! policy, as an object the gateway can hold (the production [`Fetcher`] with
//! the system resolver, or one with a fixed resolver in tests), and that
//! fetcher behind the backend middleware.

use std::sync::Arc;

use super::fetch::{FetchError, Fetched, Fetcher, Resolver};
use super::middleware::{Backend, BackendError, MiddlewareConfig};
use crate::BoxFuture;
use crate::outcome::ToolErrorKind;

/// The tool these pages are for, named in the messages the agent reads.
const TOOL: &str = "web_visit";

/// Fetches one page under the fetch policy.
pub trait PageFetch: Send + Sync {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Fetched, FetchError>>;
}

impl<R: Resolver + 'static> PageFetch for Fetcher<R> {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        Box::pin(Fetcher::fetch(self, url))
    }
}

/// Live fetches behind the middleware: 429 and 5xx answers and transport
/// failures are transient (retried), policy refusals and 404s are final.
pub fn page_backend(fetcher: Arc<dyn PageFetch>, config: MiddlewareConfig) -> Backend<String, Fetched> {
    Backend::new(TOOL, config, move |url: String| {
        let fetcher = Arc::clone(&fetcher);
        async move {
            let fetched = fetcher.fetch(&url).await.map_err(fetch_error)?;
            match fetched.status {
                200..=399 => Ok(fetched),
                404 | 410 => Err(BackendError::permanent(ToolErrorKind::NotFound, format!("{url} answered http {}", fetched.status))),
                429 | 500..=599 => Err(BackendError::transient(format!("{url} answered http {}", fetched.status))),
                status => Err(BackendError::permanent(ToolErrorKind::Backend, format!("{url} answered http {status}"))),
            }
        }
    })
}

/// Refusals by the policy are the agent's to route around (never retried);
/// transport failures and timeouts may pass (retried by the middleware).
fn fetch_error(e: FetchError) -> BackendError {
    match e {
        FetchError::Blocked(_) | FetchError::ContentType(_) | FetchError::TooLarge(_) | FetchError::TooManyRedirects(_) => {
            BackendError::permanent(ToolErrorKind::Policy, format!("{TOOL} refused: {e}"))
        }
        FetchError::InvalidUrl { .. } => BackendError::permanent(ToolErrorKind::InvalidArguments, e.to_string()),
        FetchError::Resolve { .. } => BackendError::permanent(ToolErrorKind::NotFound, format!("{TOOL} failed: {e}")),
        FetchError::Http(_) | FetchError::Timeout(_) => BackendError::transient(format!("{TOOL} failed: {e}")),
    }
}
