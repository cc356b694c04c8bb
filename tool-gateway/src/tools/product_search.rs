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
             \"rating_count\",\"score\"}}],\"total\":<matching products>}}; fields a product lacks are left out. \
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
    score: f64,
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
    if hits.total == 0
        && let Some(filters) = active_filters(&query)
    {
        // An empty page teaches nothing and ends many a small model's search
        // (a filter copied from the description, a max_price of 0): show what
        // the keywords match, and say the filters were dropped.
        let unfiltered = ProductQuery { text: query.text.clone(), limit: query.limit, ..ProductQuery::default() };
        hits = backends.products.search(&unfiltered).map_err(|e| ToolError::backend(NAME, &e))?;
        if hits.total > 0 {
            notes.push(format!("no product matches the keywords with {filters}; these results ignore those filters"));
        }
    }
    let results = hits
        .hits
        .iter()
        .filter_map(|(id, score)| {
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
                // Three decimals carry the ranking; more digits only cost tokens.
                score: (f64::from(*score) * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    Ok(serde_json::to_string(&Results { results, total: hits.total, notes }).expect("serializable"))
}

/// The filters a query sets, as the note names them (`None`: no filter).
fn active_filters(query: &ProductQuery) -> Option<String> {
    let set: Vec<String> = [
        query.min_price.map(|v| format!("min_price {v}")),
        query.max_price.map(|v| format!("max_price {v}")),
        query.category.as_ref().map(|v| format!("category {v:?}")),
        query.brand.as_ref().map(|v| format!("brand {v:?}")),
        query.min_rating.map(|v| format!("min_rating {v}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!set.is_empty()).then(|| set.join(", "))
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
