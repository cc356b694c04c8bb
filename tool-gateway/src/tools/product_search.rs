//! `product_search`: BM25 search over the catalog with filters.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::arguments::decode;
use super::{Backends, Tool, ToolDefinition};
use crate::BoxFuture;
use crate::catalog::index::{Coverage, ProductQuery};
use crate::config::Config;
use crate::outcome::ToolError;

pub const NAME: &str = "product_search";
const DEFAULT_LIMIT: usize = 5;

struct ProductSearch {
    definition: ToolDefinition,
    max_results: usize,
}

/// `product_search` as the gateway registers it.
pub fn register(config: &Config) -> Box<dyn Tool> {
    Box::new(ProductSearch { definition: definition(config.max_results), max_results: config.max_results })
}

impl Tool for ProductSearch {
    fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    fn run<'a>(&'a self, backends: &'a Backends, arguments: Value) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move { search(backends, decode(arguments)?, self.max_results) })
    }

    fn backend(&self, _: &Backends, _: &Value) -> &'static str {
        "catalog"
    }
}

fn definition(max_results: usize) -> ToolDefinition {
    ToolDefinition {
        name: NAME,
        description: format!(
            "Search the product catalog with keywords (ranked by BM25 over title, brand, category, description and \
             specs), optionally filtered by price, category, brand and rating. Returns JSON \
             {{\"results\":[{{\"product_id\",\"title\",\"brand\",\"category\",\"price\",\"currency\",\"rating\",\
             \"rating_count\"}}],\"total\":<matching products>}}, best match first; fields a product lacks are left out. \
             Pass a product_id to visit_product for its description, specs and reviews. At most {max_results} results."
        ),
        parameters: json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "description": "Keywords from the research query: the kind of product and the features that matter."},
                "limit": {"type": "integer", "minimum": 1, "maximum": max_results, "default": DEFAULT_LIMIT, "description": "How many results to return."},
                "min_price": {"type": "number", "minimum": 0, "description": "Lowest price, in the catalog's currency."},
                "max_price": {"type": "number", "minimum": 0, "description": "Highest price, in the catalog's currency."},
                "category": {"type": "string", "minLength": 1, "description": "Part of a category path as the results show it (\"A > B > C\"), case-insensitive. Leave it out unless a result showed that category."},
                "brand": {"type": "string", "minLength": 1, "description": "Brand name, case-insensitive, exact."},
                "min_rating": {"type": "number", "minimum": 0, "maximum": 5, "description": "Lowest average rating, 0 to 5."}
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
    #[serde(default)]
    min_price: Option<f64>,
    #[serde(default)]
    max_price: Option<f64>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    brand: Option<String>,
    #[serde(default)]
    min_rating: Option<f64>,
}

#[derive(Serialize)]
struct Results<'a> {
    results: Vec<ProductResult<'a>>,
    total: usize,
    /// Filters on fields some products lack, and what that did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

#[derive(Serialize)]
struct ProductResult<'a> {
    product_id: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    brand: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating_count: Option<u64>,
    // No BM25 score: the order is the ranking, and small models copied the
    // number into reports as a product fact ("Score: 22.443", 2 of 4 reports
    // in run 55).
}

fn search(backends: &Backends, args: Arguments, max_results: usize) -> Result<String, ToolError> {
    if args.query.trim().is_empty() {
        return Err(ToolError::invalid("argument \"query\" is blank; give keywords to search for"));
    }
    if let (Some(min), Some(max)) = (args.min_price, args.max_price)
        && min > max
    {
        return Err(ToolError::invalid(format!("min_price ({min}) is greater than max_price ({max})")));
    }
    let limit = args.limit.map_or(DEFAULT_LIMIT, |l| l as usize).clamp(1, max_results);
    let query = ProductQuery {
        text: args.query,
        limit,
        min_price: args.min_price,
        max_price: args.max_price,
        category: args.category,
        brand: args.brand,
        min_rating: args.min_rating,
    };
    let mut notes = filter_notes(&query, backends.products.coverage());
    let mut hits = backends.products.search(&query).map_err(|e| ToolError::backend(NAME, &e))?;
    if hits.total == 0 {
        // An empty page teaches nothing and ends many a small model's search
        // (a filter copied from the description, a max_price of 0): show what
        // the keywords match with fewer filters, and say which were dropped.
        for relaxed in relaxations(&query) {
            let found = backends.products.search(&relaxed).map_err(|e| ToolError::backend(NAME, &e))?;
            if found.total > 0 {
                notes.push(relaxed_note(&query, &relaxed));
                hits = found;
                break;
            }
        }
    }
    let results = hits
        .hits
        .iter()
        .filter_map(|(id, _)| {
            let p = backends.catalog.get(id)?;
            Some(ProductResult {
                product_id: &p.product_id,
                title: &p.title,
                brand: p.brand.as_deref(),
                category: p.category.as_deref(),
                price: p.price,
                currency: p.currency.as_deref(),
                rating: p.rating,
                rating_count: p.rating_count,
            })
        })
        .collect();
    Ok(serde_json::to_string(&Results { results, total: hits.total, notes }).expect("serializable"))
}

/// The filters a query sets, as the notes name them.
fn filters(query: &ProductQuery) -> Vec<String> {
    [
        query.min_price.map(|v| format!("min_price {v}")),
        query.max_price.map(|v| format!("max_price {v}")),
        query.category.as_ref().map(|v| format!("category {v:?}")),
        query.brand.as_ref().map(|v| format!("brand {v:?}")),
        query.min_rating.map(|v| format!("min_rating {v}")),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The queries to try, in order, when `query` matches nothing. First without
/// its bounds (price, rating), keeping the kind of product asked for
/// (category, brand): a small model guesses bounds, such as a max_price of
/// 1000 in a rupee catalog where phones cost ten times that, and dropping
/// every filter then answered "smartphone" with phone holders and a kettle.
/// Then without any filter.
fn relaxations(query: &ProductQuery) -> Vec<ProductQuery> {
    let bounded = query.min_price.is_some() || query.max_price.is_some() || query.min_rating.is_some();
    let kind = query.category.is_some() || query.brand.is_some();
    let mut tries = Vec::new();
    if bounded && kind {
        tries.push(ProductQuery { min_price: None, max_price: None, min_rating: None, ..query.clone() });
    }
    if bounded || kind {
        tries.push(ProductQuery { text: query.text.clone(), limit: query.limit, ..ProductQuery::default() });
    }
    tries
}

/// The note on results found by `relaxed` instead of `query`.
fn relaxed_note(query: &ProductQuery, relaxed: &ProductQuery) -> String {
    let kept = filters(relaxed);
    let dropped: Vec<String> = filters(query).into_iter().filter(|f| !kept.contains(f)).collect();
    let mut note = format!("no product matches the keywords with {}; these results ignore those filters", dropped.join(", "));
    if !kept.is_empty() {
        note.push_str(&format!(" and keep {}", kept.join(", ")));
    }
    note
}

/// One note per filter on a field not every product has: with none, the
/// filter matches nothing (drop it); with some, the rest are left out.
fn filter_notes(query: &ProductQuery, coverage: Coverage) -> Vec<String> {
    let price = if query.min_price.is_some() || query.max_price.is_some() { Some("min_price/max_price") } else { None };
    let filters = [
        (price, "a price", coverage.price),
        (query.min_rating.map(|_| "min_rating"), "a rating", coverage.rating),
        (query.brand.as_ref().map(|_| "brand"), "a brand", coverage.brand),
        (query.category.as_ref().map(|_| "category"), "a category", coverage.category),
    ];
    filters
        .into_iter()
        .filter_map(|(filter, field, with)| {
            let filter = filter?;
            let without = coverage.products - with;
            match (with, without) {
                (_, 0) => None,
                (0, _) => Some(format!("no product in this catalog has {field}, so {filter} matches nothing; search without it")),
                _ => Some(format!("{without} of {} products have no {} and are left out by {filter}", coverage.products, &field[2..])),
            }
        })
        .collect()
}
