//! `web_search`: BM25 search over the local web corpus, or a hosted provider
//! (see [`crate::web::search_providers`]) behind the backend middleware.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::arguments::decode;
use super::{Backends, Tool, ToolDefinition};
use crate::BoxFuture;
use crate::config::Config;
use crate::outcome::ToolError;
use crate::web::search_providers::SearchRequest;

pub const NAME: &str = "web_search";
const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 10;

struct WebSearch {
    definition: ToolDefinition,
}

/// `web_search` as the gateway registers it.
pub fn register(_: &Config) -> Box<dyn Tool> {
    Box::new(WebSearch { definition: definition() })
}

impl Tool for WebSearch {
    fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    fn run<'a>(&'a self, backends: &'a Backends, arguments: Value) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move { search(backends, decode(arguments)?).await })
    }

    fn backend(&self, backends: &Backends, _: &Value) -> &'static str {
        backends.search.as_ref().map_or("corpus", |b| b.name())
    }
}

fn definition() -> ToolDefinition {
    ToolDefinition {
        name: NAME,
        description: "Search the web (buying guides, reviews, comparisons) with keywords. Returns JSON \
                      {\"results\":[{\"url\",\"title\",\"snippet\"}]}, best match first; read a page with web_visit."
            .into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "description": "Keywords from the research query: the kind of product and what a buying guide or review would compare."},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT, "description": "How many results to return."}
            },
            "required": ["query"],
            "additionalProperties": false
        }),
    }
}

#[derive(Debug, Deserialize)]
struct Arguments {
    query: String,
    // f64: JSON schema counts 5.0 as an integer, serde's usize would not.
    #[serde(default)]
    limit: Option<f64>,
}

#[derive(Serialize)]
struct Results<'a> {
    results: Vec<PageResult<'a>>,
}

#[derive(Serialize)]
struct PageResult<'a> {
    url: &'a str,
    title: &'a str,
    snippet: String,
}

async fn search(backends: &Backends, args: Arguments) -> Result<String, ToolError> {
    if args.query.trim().is_empty() {
        return Err(ToolError::invalid("argument \"query\" is blank; give keywords to search for"));
    }
    let limit = args.limit.map_or(DEFAULT_LIMIT, |l| l as usize).clamp(1, MAX_LIMIT);
    if let Some(provider) = &backends.search {
        let hits = provider
            .call(SearchRequest { query: args.query.trim().to_string(), limit })
            .await
            .map_err(|e| ToolError { kind: e.kind, message: format!("{NAME} failed ({}): {e}", provider.name()) })?;
        return Ok(serde_json::to_string(&json!({ "results": hits })).expect("serializable"));
    }
    let web = backends.web(NAME)?;
    let hits = web.index.search(&web.corpus, &args.query, limit).map_err(|e| ToolError::backend(NAME, &e))?;
    let results = hits
        .into_iter()
        .filter_map(|hit| {
            let page = web.corpus.pages().get(hit.page)?;
            Some(PageResult { url: &page.url, title: &page.title, snippet: hit.snippet })
        })
        .collect();
    Ok(serde_json::to_string(&Results { results }).expect("serializable"))
}
