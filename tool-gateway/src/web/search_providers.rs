//! Hosted web search for `web_search`, besides the local corpus: a SearXNG
//! instance (its JSON API) and the Brave Search API. The URLs here are the
//! operator's, not the model's, so they are fetched without the fetch policy;
//! the results' URLs are what the model may then visit, under it.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::middleware::{BackendError, MiddlewareConfig};
use crate::error::Error;
use crate::outcome::ToolErrorKind;

/// Which backend answers `web_search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SearchBackendKind {
    /// BM25 over the local web corpus (offline).
    #[default]
    Corpus,
    /// A SearXNG instance's JSON API (`format=json` must be enabled in its settings).
    Searxng,
    /// The Brave Search API (an API key from `BRAVE_API_KEY` or a secret file).
    Brave,
}

/// `web_search` backend settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSearchConfig {
    pub backend: SearchBackendKind,
    /// Base URL of the SearXNG instance, e.g. `http://searxng:8080`.
    pub searxng_url: Option<String>,
    /// Brave's endpoint (changed only by tests).
    pub brave_url: String,
    /// Environment variable holding the Brave API key.
    pub brave_api_key_env: String,
    /// File holding the Brave API key (e.g. a mounted Kubernetes Secret);
    /// read when the variable is unset.
    pub brave_api_key_file: Option<PathBuf>,
    /// Timeout, retries, rate and concurrency limits, cache.
    pub middleware: MiddlewareConfig,
}

impl Default for WebSearchConfig {
    fn default() -> Self {
        Self {
            backend: SearchBackendKind::Corpus,
            searxng_url: None,
            brave_url: "https://api.search.brave.com/res/v1/web/search".into(),
            brave_api_key_env: "BRAVE_API_KEY".into(),
            brave_api_key_file: None,
            middleware: MiddlewareConfig::default(),
        }
    }
}

/// One search, as the middleware caches it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchRequest {
    pub query: String,
    pub limit: usize,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub url: String,
    pub title: String,
    pub snippet: String,
}

/// A configured hosted provider.
#[derive(Clone)]
pub enum Provider {
    Searxng { client: reqwest::Client, base_url: String },
    Brave { client: reqwest::Client, url: String, key: String },
}

impl std::fmt::Debug for Provider {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provider::Searxng { base_url, .. } => write!(f, "searxng at {base_url}"),
            Provider::Brave { url, .. } => write!(f, "brave at {url}"),
        }
    }
}

impl Provider {
    /// The provider `config` names (`None` for the corpus); a missing URL or
    /// key is a one-line start-up error.
    pub fn from_config(config: &WebSearchConfig) -> Result<Option<Provider>, Error> {
        let client = || {
            productresearch_runtime::http::client_builder()
                .timeout(Duration::from_millis(config.middleware.timeout_ms.max(1)))
                .user_agent(concat!("productresearch-tool-gateway/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Config(format!("web_search http client: {e}")))
        };
        match config.backend {
            SearchBackendKind::Corpus => Ok(None),
            SearchBackendKind::Searxng => {
                let base_url =
                    config.searxng_url.clone().filter(|u| u.starts_with("http://") || u.starts_with("https://")).ok_or_else(|| {
                        Error::Config("web_search.backend = \"searxng\" needs web_search.searxng_url (http or https)".into())
                    })?;
                Ok(Some(Provider::Searxng { client: client()?, base_url: base_url.trim_end_matches('/').to_string() }))
            }
            SearchBackendKind::Brave => {
                let key = std::env::var(&config.brave_api_key_env).ok().filter(|k| !k.trim().is_empty());
                let key = match (key, &config.brave_api_key_file) {
                    (Some(key), _) => key,
                    (None, Some(file)) => {
                        std::fs::read_to_string(file).map_err(|e| Error::Config(format!("brave api key file {}: {e}", file.display())))?
                    }
                    (None, None) => {
                        return Err(Error::Config(format!(
                            "web_search.backend = \"brave\" needs an API key: set {} or web_search.brave_api_key_file",
                            config.brave_api_key_env
                        )));
                    }
                };
                Ok(Some(Provider::Brave { client: client()?, url: config.brave_url.clone(), key: key.trim().to_string() }))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Provider::Searxng { .. } => "searxng",
            Provider::Brave { .. } => "brave",
        }
    }

    /// One search; HTTP 429 and 5xx and transport failures are transient.
    pub async fn search(&self, req: SearchRequest) -> Result<Vec<SearchHit>, BackendError> {
        let name = self.name();
        let with_query = |base: &str, params: &[(&str, &str)]| {
            url::Url::parse_with_params(base, params)
                .map_err(|e| BackendError::permanent(ToolErrorKind::Backend, format!("{name}: bad endpoint url {base}: {e}")))
        };
        let (request, results_at, snippet_key) = match self {
            Provider::Searxng { client, base_url } => (
                client.get(with_query(&format!("{base_url}/search"), &[("q", &req.query), ("format", "json"), ("pageno", "1")])?),
                "/results",
                "content",
            ),
            Provider::Brave { client, url, key } => (
                client
                    .get(with_query(url, &[("q", &req.query), ("count", &req.limit.min(20).to_string())])?)
                    .header("Accept", "application/json")
                    .header("X-Subscription-Token", key),
                "/web/results",
                "description",
            ),
        };
        let response = request.send().await.map_err(|e| BackendError::transient(format!("{name}: {}", e.without_url())))?;
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(BackendError::transient(format!("{name} answered http {}", status.as_u16())));
        }
        if !status.is_success() {
            return Err(BackendError::permanent(ToolErrorKind::Backend, format!("{name} answered http {}", status.as_u16())));
        }
        let body: Value =
            response.json().await.map_err(|e| BackendError::permanent(ToolErrorKind::Backend, format!("{name}: bad json: {e}")))?;
        let hits = body
            .pointer(results_at)
            .and_then(Value::as_array)
            .map(|results| {
                results
                    .iter()
                    .filter_map(|r| {
                        let url = r.get("url")?.as_str()?.to_string();
                        let text = |k: &str| r.get(k).and_then(Value::as_str).map(strip_tags).unwrap_or_default();
                        Some(SearchHit { url, title: text("title"), snippet: text(snippet_key) })
                    })
                    .take(req.limit)
                    .collect()
            })
            .unwrap_or_default();
        Ok(hits)
    }
}

/// Brave marks matches with `<strong>`; the agent wants plain text.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
}
