//! Live pages for `web_visit`: anything that fetches a URL under the fetch
//! policy, as an object the gateway can hold (the production [`Fetcher`] with
//! the system resolver, or one with a fixed resolver in tests).

use std::future::Future;
use std::pin::Pin;

use crate::fetch::{FetchError, Fetched, Fetcher, Resolver};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Fetches one page under the fetch policy.
pub trait PageFetch: Send + Sync {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Fetched, FetchError>>;
}

impl<R: Resolver + 'static> PageFetch for Fetcher<R> {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        Box::pin(Fetcher::fetch(self, url))
    }
}
