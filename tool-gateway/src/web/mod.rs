//! The web the agent reads: a local corpus of saved pages ([`corpus`]) with
//! its search index ([`page_index`]), hosted search providers
//! ([`search_providers`]), live pages fetched under the SSRF policy
//! ([`fetch`], [`page_fetch`]) behind the backend middleware
//! ([`middleware`]), and HTML turned into text ([`html_text`], the whole
//! page) or read for its main content and product facts ([`page_reader`]).

mod brand;
pub mod corpus;
pub mod fetch;
mod html_prune;
pub mod html_text;
pub mod middleware;
pub mod page_fetch;
pub mod page_index;
pub mod page_reader;
pub mod price;
pub mod search_providers;

use corpus::WebCorpus;
use page_index::PageIndex;

/// The web corpus with its search index.
pub struct LocalWeb {
    pub corpus: WebCorpus,
    pub index: PageIndex,
}
