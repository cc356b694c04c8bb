//! Fetching a model-chosen URL: every hop checked, every resolved address
//! checked, the connection pinned to the checked addresses, the body capped.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Response, StatusCode};
use url::{Host, Url};

use super::policy::{Blocked, FetchPolicy};
use super::resolver::{Resolver, SystemResolver};

/// A page fetched under a [`FetchPolicy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Where the page was found, after redirects.
    pub final_url: Url,
    pub status: u16,
    /// The `Content-Type` header as sent (parameters included).
    pub content_type: String,
    /// The body, decoded as UTF-8 with invalid bytes replaced.
    pub body: String,
}

/// Why a fetch failed; each `Display` is one line the agent can read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid url {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("blocked: {0}")]
    Blocked(#[from] Blocked),
    #[error("could not resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("http error: {0}")]
    Http(String),
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    #[error("content type {0} is not allowed (only text pages are read)")]
    ContentType(String),
    #[error("no complete response within {0} ms")]
    Timeout(u64),
    #[error("more than {0} redirects")]
    TooManyRedirects(u8),
}

/// Fetches URLs under a policy, resolving names through `R`.
#[derive(Debug, Clone)]
pub struct Fetcher<R = SystemResolver> {
    policy: FetchPolicy,
    resolver: R,
}

impl Fetcher<SystemResolver> {
    /// A fetcher using the operating system's resolver.
    pub fn system(policy: FetchPolicy) -> Self {
        Self::new(policy, SystemResolver)
    }
}

impl<R: Resolver> Fetcher<R> {
    pub fn new(policy: FetchPolicy, resolver: R) -> Self {
        Self { policy, resolver }
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Checks `url` and returns the addresses a connection to it may use:
    /// the literal address, or every address its name resolves to (refused
    /// if any one of them is not public, since the connection could pick it).
    pub async fn vet(&self, url: &Url) -> Result<Vec<IpAddr>, FetchError> {
        self.policy.check_url(url)?;
        let host = match url.host() {
            Some(Host::Ipv4(ip)) => return Ok(vec![ip.into()]),
            Some(Host::Ipv6(ip)) => return Ok(vec![ip.into()]),
            Some(Host::Domain(host)) => host,
            None => return Err(Blocked::NoHost.into()),
        };
        let addrs = self.resolver.resolve(host).await.map_err(|e| FetchError::Resolve { host: host.to_owned(), reason: e.to_string() })?;
        if addrs.is_empty() {
            return Err(FetchError::Resolve { host: host.to_owned(), reason: "no addresses".into() });
        }
        for &ip in &addrs {
            if let Err(Blocked::Address { ip, class }) = self.policy.check_ip(ip) {
                return Err(Blocked::ResolvesInside { host: host.to_owned(), ip, class }.into());
            }
        }
        Ok(addrs)
    }

    /// Fetches `url`, following up to `max_redirects` redirects, within
    /// `timeout_ms` overall.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        let url = Url::parse(url).map_err(|e| FetchError::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
        let limit = self.policy.timeout_ms;
        tokio::time::timeout(Duration::from_millis(limit), self.follow(url)).await.unwrap_or(Err(FetchError::Timeout(limit)))
    }

    async fn follow(&self, mut url: Url) -> Result<Fetched, FetchError> {
        // One request per hop plus the first: max_redirects + 1 in all.
        for _ in 0..=self.policy.max_redirects {
            let addrs = self.vet(&url).await?;
            let response = pinned_client(&url, &addrs)?.get(url.clone()).send().await.map_err(http_error)?;
            match redirect_target(&url, &response)? {
                Some(next) => url = next,
                None => return self.read(url, response).await,
            }
        }
        Err(FetchError::TooManyRedirects(self.policy.max_redirects))
    }

    async fn read(&self, final_url: Url, mut response: Response) -> Result<Fetched, FetchError> {
        let status = response.status().as_u16();
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !self.policy.allowed_content_types.iter().any(|allowed| allowed.eq_ignore_ascii_case(essence)) {
            let shown = if content_type.is_empty() { "(none)".to_owned() } else { content_type };
            return Err(FetchError::ContentType(shown));
        }
        let max = self.policy.max_bytes;
        // An honest Content-Length saves the download; a lying or missing one
        // is caught by counting while streaming.
        if response.content_length().is_some_and(|len| len > max as u64) {
            return Err(FetchError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_error)? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { final_url, status, content_type, body: String::from_utf8_lossy(&body).into_owned() })
    }
}

/// A client that can only connect to `addrs` for `url`'s host.
///
/// A fresh client per hop: no pooled connection from an earlier hop can be
/// reused, reqwest's own redirect following is off (each hop is checked
/// here), proxies from the environment are ignored (they would connect
/// elsewhere), and its resolver refuses every name except the pinned one, so
/// a DNS answer that changes between check and connect (rebinding) is never
/// seen.
fn pinned_client(url: &Url, addrs: &[IpAddr]) -> Result<reqwest::Client, FetchError> {
    let mut builder = productresearch_runtime::http::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(NoDns)
        .user_agent(concat!("productresearch-tool-gateway/", env!("CARGO_PKG_VERSION")));
    if let Some(Host::Domain(host)) = url.host() {
        // Port 0: reqwest substitutes the URL's port (or the scheme default).
        let pinned: Vec<SocketAddr> = addrs.iter().map(|&ip| SocketAddr::new(ip, 0)).collect();
        builder = builder.resolve_to_addrs(host, &pinned);
    }
    builder.build().map_err(|e| FetchError::Http(format!("building client: {e}")))
}

/// The next URL if `response` is a redirect with a `Location`, resolved
/// against the current URL (relative locations are common).
fn redirect_target(current: &Url, response: &Response) -> Result<Option<Url>, FetchError> {
    let redirects = [
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::FOUND,
        StatusCode::SEE_OTHER,
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
    ];
    if !redirects.contains(&response.status()) {
        return Ok(None);
    }
    let Some(location) = response.headers().get(LOCATION) else {
        return Err(FetchError::Http(format!("{} redirect without a location", response.status().as_u16())));
    };
    let location = location.to_str().map_err(|_| FetchError::Http("redirect location is not text".into()))?;
    current.join(location).map(Some).map_err(|e| FetchError::InvalidUrl { url: location.to_owned(), reason: e.to_string() })
}

/// reqwest's message plus its causes on one line ("error sending request"
/// alone tells the agent nothing).
fn http_error(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Http("timed out".into());
    }
    FetchError::Http(productresearch_runtime::http::error_chain(&error.without_url()))
}

/// A resolver for reqwest that answers nothing: every name it may connect to
/// is pinned with `resolve_to_addrs`, so any other lookup is a bug.
struct NoDns;

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let message = format!("{} was not checked by the fetch policy", name.as_str());
        Box::pin(async move { Err(message.into()) })
    }
}
