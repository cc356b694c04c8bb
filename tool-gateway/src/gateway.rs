//! The gateway: the registered tools over their loaded backends, without any
//! gRPC, so the tools can be used and tested in-process. Record and replay
//! wrap every call here.

use std::sync::Arc;

use serde_json::Value;

use crate::catalog::Catalog;
use crate::catalog::index::ProductIndex;
use crate::catalog::index_folder;
use crate::config::Config;
use crate::error::Error;
use crate::outcome::{ToolError, ToolErrorKind, ToolOutcome};
use crate::tools::store::{ToolStore, ToolsMode, snapshot_id};
use crate::tools::{Backends, Registry, ToolDefinition};
use crate::web::LocalWeb;
use crate::web::corpus::WebCorpus;
use crate::web::fetch::Fetcher;
use crate::web::middleware::{Backend, MiddlewareConfig};
use crate::web::page_fetch::{PageFetch, page_backend};
use crate::web::page_index::PageIndex;
use crate::web::search_providers::{Provider, SearchRequest};

/// The research agent's tools over the catalog and the web corpus.
pub struct Gateway {
    backends: Backends,
    tools: Registry,
    fetch_middleware: MiddlewareConfig,
    /// Record or replay; `None` when live.
    store: Option<(ToolsMode, ToolStore)>,
    /// Id of the snapshot the results come from (see [`snapshot_id`]).
    snapshot: String,
}

impl Gateway {
    /// Loads the configured catalogs and web corpus and builds their indexes.
    /// Bad catalog or corpus lines are logged and skipped; a missing file is an error.
    pub fn load(config: &Config) -> Result<Gateway, Error> {
        config.validate()?;
        // One prebuilt index is served as is; several sources are merged and
        // indexed in RAM (an index folder then contributes its catalog.jsonl).
        let prebuilt = match config.catalogs.as_slice() {
            [dir] if config.catalog_fields.is_none() && index_folder::is_index_dir(dir) => Some(index_folder::open(dir)?),
            _ => None,
        };
        let (catalog, products) = match prebuilt {
            Some((catalog, index)) => (catalog, Some(index)),
            None => {
                let files: Vec<_> = config
                    .catalogs
                    .iter()
                    .map(|p| if index_folder::is_index_dir(p) { p.join(index_folder::CATALOG_FILE) } else { p.clone() })
                    .collect();
                let (catalog, report) = Catalog::load_mapped(&files, config.catalog_fields.as_ref())?;
                tracing::info!(products = catalog.len(), rejected_lines = report.rejected.len(), "catalogs loaded");
                (catalog, None)
            }
        };
        let corpus = match &config.web_corpus {
            Some(dir) if !dir.as_os_str().is_empty() => {
                let (corpus, rejected) = WebCorpus::load(dir)?;
                tracing::info!(corpus = %dir.display(), pages = corpus.len(), rejected_lines = rejected.len(), "web corpus loaded");
                Some(corpus)
            }
            _ => {
                tracing::warn!("no web_corpus configured: web_search and web_visit will answer with an error");
                None
            }
        };
        Gateway::with_index(catalog, products, corpus, config)
    }

    /// A gateway over already loaded data; `config` gives the limits.
    pub fn new(catalog: Catalog, corpus: Option<WebCorpus>, config: &Config) -> Result<Gateway, Error> {
        Self::with_index(catalog, None, corpus, config)
    }

    /// Like [`Self::new`], with the catalog's index when one was built already.
    fn with_index(catalog: Catalog, products: Option<ProductIndex>, corpus: Option<WebCorpus>, config: &Config) -> Result<Gateway, Error> {
        config.validate()?;
        let products = match products {
            Some(index) => index,
            None => ProductIndex::build(&catalog)?,
        };
        let web = match corpus {
            Some(corpus) => Some(LocalWeb { index: PageIndex::build(&corpus)?, corpus }),
            None => None,
        };
        // The policy is always on: `allow_private` opens private networks,
        // the test switch (loopback listeners only, see `run`) loopback.
        let fetcher = config.live_fetch.then(|| Arc::new(Fetcher::system(config.fetch.clone())) as Arc<dyn PageFetch>);
        let search = Provider::from_config(&config.web_search)?.map(|provider| {
            let name = provider.name();
            Backend::new(name, config.web_search.middleware.clone(), move |req: SearchRequest| {
                let provider = provider.clone();
                async move { provider.search(req).await }
            })
        });
        let store = match (config.tools_mode, &config.tool_store) {
            (ToolsMode::Live, _) => None,
            (mode, Some(dir)) => Some((mode, ToolStore::open(dir, mode == ToolsMode::Record)?)),
            (mode, None) => return Err(Error::Config(format!("tools_mode {mode:?} needs tool_store (a folder)"))),
        };
        let summarizer = match &config.visit_summary {
            Some(endpoint) => {
                Some(productresearch_llm::LlmClient::new(endpoint.clone()).map_err(|e| Error::Config(format!("visit_summary: {e}")))?)
            }
            None => None,
        };
        let backends = Backends {
            catalog,
            products,
            web,
            fetcher: fetcher.map(|f| page_backend(f, config.fetch_middleware.clone())),
            search,
            summarizer,
        };
        let snapshot = snapshot_id(config.tools_mode, config.tool_store.as_deref());
        Ok(Gateway { backends, tools: Registry::new(config)?, fetch_middleware: config.fetch_middleware.clone(), store, snapshot })
    }

    /// The tools, in a stable order.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.tools.definitions().cloned().collect()
    }

    /// Id of the tool snapshot results come from; empty for live tools.
    pub fn snapshot_id(&self) -> &str {
        &self.snapshot
    }

    /// Replaces how live pages are fetched (tests: a fetcher with a fixed
    /// resolver and the loopback test switch), or switches live fetching off.
    pub fn with_fetcher(mut self, fetcher: Option<Arc<dyn PageFetch>>) -> Self {
        self.backends.fetcher = fetcher.map(|f| page_backend(f, self.fetch_middleware.clone()));
        self
    }

    /// Runs one tool call. Never fails: every problem with the call is an outcome
    /// with an error kind and a message the agent can act on. In replay mode
    /// the store answers alone; in record mode every outcome is stored.
    pub async fn call(&self, name: &str, arguments_json: &str) -> ToolOutcome {
        match &self.store {
            Some((ToolsMode::Replay, store)) => match store.replay(name, arguments_json) {
                Ok(Some(stored)) => stored.outcome(),
                Ok(None) => ToolOutcome {
                    content: format!("no recorded response for this {name} call; replay mode answers only calls recorded before"),
                    error: Some(ToolErrorKind::Backend),
                },
                Err(e) => ToolError::backend(name, &e).into_outcome(),
            },
            Some((_, store)) => {
                let outcome = self.call_backends(name, arguments_json).await;
                if let Err(e) = store.record(name, arguments_json, &outcome, self.backend_name(name, arguments_json)) {
                    tracing::warn!(tool = name, error = %e, "tool response not recorded");
                }
                outcome
            }
            None => self.call_backends(name, arguments_json).await,
        }
    }

    /// What answers a call (recorded with its response).
    fn backend_name(&self, name: &str, arguments_json: &str) -> &'static str {
        let Some((tool, _)) = self.tools.get(name) else {
            return "none";
        };
        let arguments = serde_json::from_str(arguments_json).unwrap_or(Value::Null);
        tool.backend(&self.backends, &arguments)
    }

    async fn call_backends(&self, name: &str, arguments_json: &str) -> ToolOutcome {
        let Some((tool, schema)) = self.tools.get(name) else {
            return self.unknown_tool(name);
        };
        match schema.check(arguments_json) {
            Ok(arguments) => tool.run(&self.backends, arguments).await.into(),
            Err(e) => e.into_outcome(),
        }
    }

    fn unknown_tool(&self, name: &str) -> ToolOutcome {
        let known: Vec<&str> = self.tools.definitions().map(|d| d.name).collect();
        ToolOutcome {
            content: format!("unknown tool \"{name}\"; the tools are: {}", known.join(", ")),
            error: Some(ToolErrorKind::UnknownTool),
        }
    }

    /// Products loaded.
    pub fn product_count(&self) -> usize {
        self.backends.catalog.len()
    }

    /// Web pages loaded.
    pub fn page_count(&self) -> usize {
        self.backends.web.as_ref().map_or(0, |w| w.corpus.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::path::PathBuf;
    use std::sync::OnceLock;

    fn demo_config() -> Config {
        let demo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo"));
        // No live fetching: a URL outside the corpus must not reach real DNS.
        Config { catalogs: vec![demo.join("catalog.jsonl")], web_corpus: Some(demo.join("web")), live_fetch: false, ..Config::default() }
    }

    /// The demo data, loaded once for all tests.
    fn demo() -> &'static Gateway {
        static GATEWAY: OnceLock<Gateway> = OnceLock::new();
        GATEWAY.get_or_init(|| Gateway::load(&demo_config()).unwrap())
    }

    fn ok(name: &str, args: Value) -> Value {
        let outcome = futures::executor::block_on(demo().call(name, &args.to_string()));
        assert!(!outcome.is_error(), "{name} {args}: {outcome:?}");
        serde_json::from_str(&outcome.content).unwrap()
    }

    fn err(name: &str, args: &str) -> (ToolErrorKind, String) {
        let outcome = futures::executor::block_on(demo().call(name, args));
        (outcome.error.expect("an error"), outcome.content)
    }

    fn ids(results: &Value) -> Vec<&str> {
        results["results"].as_array().unwrap().iter().map(|r| r["product_id"].as_str().unwrap()).collect()
    }

    #[test]
    fn loads_the_demo_data() {
        assert_eq!(demo().product_count(), 40);
        assert_eq!(demo().page_count(), 8);
        let names: Vec<&str> = demo().definitions().iter().map(|d| d.name).collect();
        assert_eq!(names, vec!["product_search", "visit_product", "web_search", "web_visit"]);
    }

    #[test]
    fn product_search_ranks_and_filters() {
        let r = ok("product_search", json!({"query": "noise cancelling headphones for flights"}));
        assert_eq!(r["results"].as_array().unwrap().len(), 5);
        assert!(r["total"].as_u64().unwrap() >= 5);
        assert!(ids(&r).iter().all(|id| id.starts_with("hp-")), "{r}");
        let first = &r["results"][0];
        for key in ["product_id", "title", "brand", "category", "price", "currency", "rating", "rating_count"] {
            assert!(first.get(key).is_some(), "{key} missing in {first}");
        }
        assert!(first.get("score").is_none(), "the rank is the order, not a number to copy: {first}");

        let cheap = ok("product_search", json!({"query": "headphones", "max_price": 100, "limit": 20}));
        assert!(cheap["results"].as_array().unwrap().iter().all(|p| p["price"].as_f64().unwrap() <= 100.0), "{cheap}");
        assert!(ids(&cheap).contains(&"hp-003"));

        let brand = ok("product_search", json!({"query": "espresso machine", "brand": "brevano"}));
        assert_eq!(
            {
                let mut v = ids(&brand);
                v.sort();
                v
            },
            vec!["cm-001", "cm-006"]
        );

        let category = ok("product_search", json!({"query": "waterproof", "category": "running > shoes"}));
        assert_eq!(ids(&category)[0], "rs-003");
        assert!(ids(&category).iter().all(|id| id.starts_with("rs-")));

        let rated = ok("product_search", json!({"query": "backpack", "min_rating": 4.6, "min_price": 100, "limit": 10}));
        assert!(!ids(&rated).is_empty());
        for p in rated["results"].as_array().unwrap() {
            assert!(p["rating"].as_f64().unwrap() >= 4.6 && p["price"].as_f64().unwrap() >= 100.0, "{p}");
        }

        let none = ok("product_search", json!({"query": "lawn mower"}));
        assert_eq!(none, json!({"results": [], "total": 0}));
    }

    #[test]
    fn invalid_arguments_are_tool_errors_the_agent_can_act_on() {
        let cases = [
            ("product_search", "{}", "missing required argument \"query\""),
            ("product_search", r#"{"query": "x", "limit": 0}"#, "argument \"limit\": 0 is less than the minimum of 1"),
            ("product_search", r#"{"query": "x", "limit": 21}"#, "argument \"limit\": 21 is greater than the maximum of 20"),
            ("product_search", r#"{"query": "x", "sort": "price"}"#, "unknown argument \"sort\""),
            ("product_search", r#"{"query": "   "}"#, "argument \"query\" is blank"),
            ("product_search", r#"{"query": "x", "min_price": 300, "max_price": 100}"#, "min_price (300) is greater than max_price (100)"),
            ("product_search", "not json", "arguments are not valid JSON"),
            ("visit_product", r#"{"id": "hp-001"}"#, "missing required argument \"product_id\""),
            ("web_search", r#"{"query": "x", "limit": 11}"#, "11 is greater than the maximum of 10"),
            ("web_visit", r#"{"url": "ftp://reviews.example/x"}"#, "must be an http or https URL"),
            ("web_visit", r#"{"url": "reviews.example/x"}"#, "must be an http or https URL"),
        ];
        for (tool, args, expected) in cases {
            let (kind, message) = err(tool, args);
            assert_eq!(kind, ToolErrorKind::InvalidArguments, "{tool} {args}: {message}");
            assert!(message.contains(expected), "{tool} {args}: {message}");
        }
    }

    #[test]
    fn unknown_tool_lists_the_tools() {
        let (kind, message) = err("google", "{}");
        assert_eq!(kind, ToolErrorKind::UnknownTool);
        assert_eq!(message, "unknown tool \"google\"; the tools are: product_search, visit_product, web_search, web_visit");
    }

    #[test]
    fn visit_product_returns_the_record_and_ranks_reviews_by_goal() {
        let p = ok("visit_product", json!({"product_id": "hp-001"}));
        assert_eq!(p["title"], "Aurion Quiet 700 Wireless Noise Cancelling Over-Ear Headphones");
        assert_eq!(p["specs"]["Battery life"], "30 h (ANC on)");
        assert_eq!(p["reviews"].as_array().unwrap().len(), 3);
        assert!(p["reviews"][0]["text"].as_str().unwrap().starts_with("Wore them"));
        assert_eq!(p["url"], "https://shop.example/p/hp-001");

        let p = ok("visit_product", json!({"product_id": "hp-001", "goal": "call quality with the microphones"}));
        assert!(p["reviews"][0]["text"].as_str().unwrap().contains("Call quality"), "{p}");

        let (kind, message) = err("visit_product", r#"{"product_id": "hp-999"}"#);
        assert_eq!(kind, ToolErrorKind::NotFound);
        assert_eq!(message, "no product with id \"hp-999\"; use an id returned by product_search");
    }

    #[test]
    fn visit_product_stays_within_the_budget_as_valid_json() {
        let long = "Long text with many words. ".repeat(100);
        let reviews: Vec<Value> = (0..8).map(|i| json!({"rating": 4, "text": format!("review {i} {long}")})).collect();
        let line = json!({
            "product_id": "big", "title": "Big product", "description": long, "reviews": reviews,
            "specs": {"a": "1", "b": "2"}, "url": "https://shop.example/big"
        });
        let mut catalog = Catalog::default();
        catalog.add_jsonl(std::path::Path::new("big"), line.to_string().as_bytes()).unwrap();
        for max in [200, 500, 1000, 3000, 6000] {
            let config = Config { visit_max_chars: max, ..demo_config() };
            let gateway = Gateway::new(catalog.clone(), None, &config).unwrap();
            let outcome = futures::executor::block_on(gateway.call("visit_product", r#"{"product_id": "big"}"#));
            assert!(!outcome.is_error());
            assert!(outcome.content.chars().count() <= max, "{max}: {}", outcome.content.chars().count());
            let page: Value = serde_json::from_str(&outcome.content).unwrap();
            assert_eq!(page["product_id"], "big");
            if max >= 3000 {
                assert_eq!(page["reviews"].as_array().unwrap().len(), 2, "{max}");
                assert!(page["description"].as_str().unwrap().ends_with('…'));
            }
        }
    }

    #[test]
    fn web_search_finds_guides_with_snippets() {
        let r = ok("web_search", json!({"query": "espresso machine grinder"}));
        let results = r["results"].as_array().unwrap();
        assert!(!results.is_empty());
        assert_eq!(results[0]["url"], "https://homebarista.example/best-espresso-machines-under-1000");
        assert_eq!(results[0]["title"], "The Best Espresso Machines Under $1,000 | Home Barista Lab");
        let snippet = results[0]["snippet"].as_str().unwrap();
        assert!(!snippet.is_empty() && snippet.chars().count() <= 220, "{snippet}");
        assert!(snippet.to_lowercase().contains("grinder") || snippet.to_lowercase().contains("espresso"), "{snippet}");

        let limited = ok("web_search", json!({"query": "best", "limit": 2}));
        assert_eq!(limited["results"].as_array().unwrap().len(), 2);
        assert_eq!(ok("web_search", json!({"query": "quantum chromodynamics"})), json!({"results": []}));
    }

    #[test]
    fn web_visit_returns_clean_text_and_ranks_by_goal() {
        let url = "https://reviews.example/best-noise-cancelling-headphones-2026";
        let p = ok("web_visit", json!({"url": url}));
        assert_eq!(p["url"], url);
        let content = p["content"].as_str().unwrap();
        assert!(content.starts_with("# The best noise cancelling headphones of 2026"), "{content}");
        assert!(content.contains("## Best overall: Aurion Quiet 700"));
        assert!(content.contains("- Battery life timed at 75 dB"));
        for noise in ["dataLayer", "Subscribe", "Privacy", "Advertisement", "Trending"] {
            assert!(!content.contains(noise), "{noise} in {content}");
        }

        let p = ok("web_visit", json!({"url": format!("{url}/"), "goal": "which is the lightest pair for flyers"}));
        assert!(p["content"].as_str().unwrap().starts_with("At 212 grams the Halcyon"), "{p}");

        // Stored with a trailing slash, found without.
        let p = ok("web_visit", json!({"url": "https://gearlab.example/one-bag-travel-backpack-guide"}));
        assert_eq!(p["title"], "One-Bag Travel: Choosing a Carry-On Backpack");

        let (kind, message) = err("web_visit", r#"{"url": "https://reviews.example/nope"}"#);
        assert_eq!(kind, ToolErrorKind::NotFound);
        assert!(message.contains("\"https://reviews.example/nope\""), "{message}");
    }

    #[test]
    fn web_visit_content_is_cut_to_the_budget() {
        let config = Config { visit_max_chars: 300, ..demo_config() };
        let gateway = Gateway::load(&config).unwrap();
        let outcome = futures::executor::block_on(
            gateway.call("web_visit", r#"{"url": "https://homebarista.example/best-espresso-machines-under-1000"}"#),
        );
        let page: Value = serde_json::from_str(&outcome.content).unwrap();
        let content = page["content"].as_str().unwrap();
        assert!(content.chars().count() <= 300 && content.ends_with('…'), "{content}");
    }

    #[test]
    fn web_tools_without_a_corpus_say_so() {
        let config = Config { web_corpus: None, ..demo_config() };
        let gateway = Gateway::load(&config).unwrap();
        let outcome = futures::executor::block_on(gateway.call("web_search", r#"{"query": "headphones"}"#));
        assert_eq!(outcome.error, Some(ToolErrorKind::Backend));
        assert_eq!(outcome.content, "web_search is unavailable: this gateway has no web corpus");
    }
}
