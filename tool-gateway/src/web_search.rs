//! `web_search`: BM25 search over the local web corpus, or a hosted provider
//! (see [`crate::search_providers`]) behind the backend middleware.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::gateway::Gateway;
use crate::search_providers::SearchRequest;
use crate::tools::{ToolDefinition, ToolError};

pub const NAME: &str = "web_search";
const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 10;

pub fn definition() -> ToolDefinition {
    ToolDefinition {
        name: NAME,
        description: "Search the web (buying guides, reviews, comparisons) with keywords. Returns JSON \
                      {\"results\":[{\"url\",\"title\",\"snippet\"}]}, best match first; read a page with web_visit."
            .into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "description": "Keywords, e.g. \"best espresso machine under 500\"."},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT, "description": "How many results to return."}
            },
            "required": ["query"],
            "additionalProperties": false
        }),
    }
}

#[derive(Debug, Deserialize)]
pub struct Arguments {
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

pub async fn run(gateway: &Gateway, args: Arguments) -> Result<String, ToolError> {
    if args.query.trim().is_empty() {
        return Err(ToolError::invalid("argument \"query\" is blank; give keywords to search for"));
    }
    let limit = args.limit.map_or(DEFAULT_LIMIT, |l| l as usize).clamp(1, MAX_LIMIT);
    if let Some(provider) = &gateway.search {
        let hits = provider
            .call(SearchRequest { query: args.query.trim().to_string(), limit })
            .await
            .map_err(|e| ToolError { kind: e.kind, message: format!("{NAME} failed ({}): {e}", provider.name()) })?;
        return Ok(serde_json::to_string(&json!({ "results": hits })).expect("serializable"));
    }
    let web = gateway.web(NAME)?;
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
