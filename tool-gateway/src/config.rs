//! Configuration of the tool gateway.

use std::net::SocketAddr;
use std::path::PathBuf;

use productresearch_runtime::boot::{ServiceCommon, ServiceConfig};
use productresearch_runtime::checkout::demo_path;
use serde::{Deserialize, Serialize};

use crate::catalog::FieldMapping;
use crate::error::Error;
use crate::tools::store::ToolsMode;
use crate::web::fetch::FetchPolicy;
use crate::web::middleware::MiddlewareConfig;
use crate::web::search_providers::WebSearchConfig;

/// Prefix of the environment variables that override the config
/// (`TOOL_GATEWAY_MAX_RESULTS`, `TOOL_GATEWAY_SERVER__CONCURRENCY_LIMIT`, ...).
pub const ENV_PREFIX: &str = "TOOL_GATEWAY";

/// Everything the tool gateway needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Catalog files (JSONL, one product per line; see docs/catalogs.md). Relative paths
    /// are resolved against the working directory.
    pub catalogs: Vec<PathBuf>,
    /// Reads every catalog file as JSONL in another schema, e.g.
    /// `"id=sku,title=name,description=desc,specs=attributes"` (see
    /// docs/catalogs.md); unset, formats are detected.
    pub catalog_fields: Option<FieldMapping>,
    /// Folder of saved web pages with an `index.jsonl`, searched by `web_search`
    /// and read by `web_visit`. Without one (unset, or `""` to switch the
    /// default off from a file or env var), the web tools answer with a backend
    /// error.
    pub web_corpus: Option<PathBuf>,
    /// Settings every service has (`[server]`, `[telemetry]`; see
    /// `productresearch_runtime::boot::ServiceCommon`).
    #[serde(flatten)]
    pub common: ServiceCommon,
    /// Most results `product_search` returns for one call (the `limit` argument's
    /// maximum).
    pub max_results: usize,
    /// Longest answer of `visit_product` and `web_visit`, in characters: a page
    /// must not eat the agent's context window.
    pub visit_max_chars: usize,
    /// Whether `web_visit` fetches URLs the web corpus does not hold (under
    /// `fetch`, the SSRF policy, which cannot be switched off).
    pub live_fetch: bool,
    /// Limits and domain lists for live fetches.
    pub fetch: FetchPolicy,
    /// Retries, rate and concurrency limits and cache of live fetches.
    pub fetch_middleware: MiddlewareConfig,
    /// Which backend answers `web_search`.
    pub web_search: WebSearchConfig,
    /// `live`, `record` (store every response in `tool_store`) or `replay`
    /// (answer only from `tool_store`, never touching a backend).
    pub tools_mode: ToolsMode,
    /// Folder of recorded tool responses (record and replay modes).
    pub tool_store: Option<PathBuf>,
    /// Model that condenses a visited page toward the agent's `goal` (as
    /// Tongyi DeepResearch's visit tool does); unset, the page's paragraphs
    /// are only reordered by the goal.
    pub visit_summary: Option<productresearch_llm::EndpointConfig>,
}

impl Default for Config {
    /// The demo data of a fresh clone, so that `tool-gateway` serves
    /// something useful without flags, from any working directory.
    fn default() -> Self {
        Self {
            catalogs: vec![demo_path("catalog.jsonl")],
            catalog_fields: None,
            web_corpus: Some(demo_path("web")),
            common: ServiceCommon::default(),
            max_results: 20,
            visit_max_chars: 6000,
            live_fetch: true,
            fetch: FetchPolicy::default(),
            fetch_middleware: MiddlewareConfig::default(),
            web_search: WebSearchConfig::default(),
            tools_mode: ToolsMode::Live,
            tool_store: None,
            visit_summary: None,
        }
    }
}

impl Config {
    /// Rejects values no gateway can work with, before anything is loaded.
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_results == 0 {
            return Err(Error::Config("max_results must be at least 1".into()));
        }
        // Below this even a product's mandatory fields do not fit.
        if self.visit_max_chars < 200 {
            return Err(Error::Config(format!("visit_max_chars must be at least 200, got {}", self.visit_max_chars)));
        }
        if self.tools_mode != ToolsMode::Live && self.tool_store.is_none() {
            return Err(Error::Config(format!("tools_mode {:?} needs tool_store (a folder)", self.tools_mode)));
        }
        Ok(())
    }

    /// Refuses the fetch policy's loopback test switch on a gateway that
    /// listens anywhere but loopback: there, "loopback" is a production
    /// host's own services, and the switch would hand them to the model.
    pub fn check_listen_address(&self, listening: SocketAddr) -> Result<(), Error> {
        if self.fetch.allow_loopback_for_tests && !listening.ip().is_loopback() {
            return Err(Error::Config(format!(
                "fetch.allow_loopback_for_tests is for tests only: it needs the gateway to listen on loopback, not {listening}"
            )));
        }
        Ok(())
    }
}

impl ServiceConfig for Config {
    fn common(&self) -> &ServiceCommon {
        &self.common
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_test_switch_needs_a_loopback_listener() {
        let config: Config = serde_json::from_str(r#"{"fetch": {"allow_loopback_for_tests": true}}"#).unwrap();
        assert!(config.fetch.allow_loopback_for_tests);
        for ok in ["127.0.0.1:50054", "127.0.0.2:1", "[::1]:0"] {
            assert!(config.check_listen_address(ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for refused in ["0.0.0.0:50054", "10.0.0.5:50054", "[::]:50054", "[fd00::1]:1"] {
            let err = config.check_listen_address(refused.parse().unwrap()).unwrap_err().to_string();
            assert!(err.contains("allow_loopback_for_tests is for tests only") && err.contains(refused), "{err}");
        }
        // Without the switch any address is fine.
        assert!(Config::default().check_listen_address("0.0.0.0:50054".parse().unwrap()).is_ok());
    }
}
