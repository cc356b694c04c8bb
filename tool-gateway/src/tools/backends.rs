//! What the tools run on, shared by all of them: the catalog and its index,
//! the local web, live fetching, a hosted search provider and the summary
//! model. Loaded once by the gateway; a tool reads what it needs.

use crate::catalog::Catalog;
use crate::catalog::index::ProductIndex;
use crate::outcome::{ToolError, ToolErrorKind};
use crate::web::LocalWeb;
use crate::web::fetch::Fetched;
use crate::web::middleware::Backend;
use crate::web::search_providers::{SearchHit, SearchRequest};

pub struct Backends {
    pub catalog: Catalog,
    pub products: ProductIndex,
    pub web: Option<LocalWeb>,
    /// Live pages for URLs the corpus does not hold, behind the middleware;
    /// `None` when switched off.
    pub fetcher: Option<Backend<String, Fetched>>,
    /// A hosted search provider; `None` searches the corpus.
    pub search: Option<Backend<SearchRequest, Vec<SearchHit>>>,
    /// Condenses visited pages toward a goal; `None` when not configured.
    pub summarizer: Option<productresearch_llm::LlmClient>,
}

impl Backends {
    /// The web corpus, or the error the web tools give without one (unless a
    /// hosted search provider stands in).
    pub fn web(&self, tool: &str) -> Result<&LocalWeb, ToolError> {
        self.web.as_ref().ok_or_else(|| ToolError {
            kind: ToolErrorKind::Backend,
            message: format!("{tool} is unavailable: this gateway has no web corpus"),
        })
    }
}
