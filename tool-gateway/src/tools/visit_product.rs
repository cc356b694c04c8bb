//! `visit_product`: one product's full record, trimmed to the agent's budget.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::arguments::decode;
use super::goal::Goal;
use super::{Backends, Tool, ToolDefinition, budget};
use crate::BoxFuture;
use crate::catalog::{Review, Specs};
use crate::config::Config;
use crate::outcome::ToolError;

pub const NAME: &str = "visit_product";
/// Reviews shown per visit; the agent can ask again with another goal.
const MAX_REVIEWS: usize = 5;
/// Under budget pressure, reviews are dropped down to this many before the
/// description is cut.
const KEEP_REVIEWS: usize = 2;
/// Likewise for feature bullets.
const KEEP_FEATURES: usize = 3;
/// A description or review is not cut below this many characters until
/// everything else has given way.
const MIN_DESCRIPTION_CHARS: usize = 300;
const MIN_REVIEW_CHARS: usize = 200;

struct VisitProduct {
    definition: ToolDefinition,
    visit_max_chars: usize,
}

/// `visit_product` as the gateway registers it.
pub fn register(config: &Config) -> Box<dyn Tool> {
    Box::new(VisitProduct { definition: definition(config.visit_max_chars), visit_max_chars: config.visit_max_chars })
}

impl Tool for VisitProduct {
    fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    fn run<'a>(&'a self, backends: &'a Backends, arguments: Value) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move { visit(backends, decode(arguments)?, self.visit_max_chars) })
    }

    fn backend(&self, _: &Backends, _: &Value) -> &'static str {
        "catalog"
    }
}

fn definition(visit_max_chars: usize) -> ToolDefinition {
    ToolDefinition {
        name: NAME,
        description: format!(
            "Open one catalog product by its product_id (from product_search). Returns JSON \
             {{\"product_id\",\"title\",\"brand\",\"category\",\"price\",\"currency\",\"rating\",\"rating_count\",\
             \"description\",\"features\":[...],\"specs\":{{...}},\"reviews\":[{{\"rating\",\"title\",\"text\"}}],\"url\"}} with up to \
             {MAX_REVIEWS} reviews; with a goal, the features, specs and reviews most related to it come first and \
             are the last to be cut. At most {visit_max_chars} \
             characters; cut text ends with \"…\"."
        ),
        parameters: json!({
            "type": "object",
            "properties": {
                "product_id": {"type": "string", "minLength": 1, "description": "A product_id returned by product_search."},
                "goal": {"type": "string", "description": "What you need to learn about this product for the research query."}
            },
            "required": ["product_id"],
            "additionalProperties": false
        }),
    }
}

#[derive(Debug, Deserialize)]
struct Arguments {
    product_id: String,
    #[serde(default)]
    goal: Option<String>,
}

#[derive(Serialize)]
struct ProductPage<'a> {
    product_id: &'a str,
    title: String,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    features: Vec<String>,
    specs: Specs,
    reviews: Vec<Review>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

fn visit(backends: &Backends, args: Arguments, visit_max_chars: usize) -> Result<String, ToolError> {
    let id = args.product_id.trim();
    let Some(p) = backends.catalog.get(id) else {
        return Err(ToolError::not_found(format!("no product with id \"{}\"; use an id returned by product_search", args.product_id)));
    };
    // With a goal, what matches it comes first within each section, so the
    // budget cuts (which start at the end of a section) take the rest first.
    let (features, specs, reviews) = match Goal::parse(args.goal.as_deref()) {
        Some(goal) => (
            goal.rank(p.features.clone(), |f| f.clone()),
            Specs(goal.rank(p.specs.0.clone(), |(k, v)| format!("{k} {v}"))),
            goal.rank(p.reviews.clone(), |r| format!("{} {}", r.title.as_deref().unwrap_or(""), r.text)),
        ),
        None => (p.features.clone(), p.specs.clone(), p.reviews.clone()),
    };
    let page = ProductPage {
        product_id: &p.product_id,
        title: p.title.clone(),
        brand: p.brand.as_deref(),
        category: p.category.as_deref(),
        price: p.price,
        currency: p.currency.as_deref(),
        rating: p.rating,
        rating_count: p.rating_count,
        description: p.description.clone(),
        features,
        specs,
        reviews: reviews.into_iter().take(MAX_REVIEWS).collect(),
        url: p.url.as_deref(),
    };
    Ok(fit(page, visit_max_chars))
}

/// Serialises `page` within `max_chars`, giving up the least useful text first:
/// reviews beyond the best two, features beyond the best three, then
/// description length, then review length, then the remaining reviews,
/// features, description, specs (last first) and url. Every
/// step shrinks the page, so the loop ends; the JSON stays valid throughout.
fn fit(mut page: ProductPage<'_>, max_chars: usize) -> String {
    loop {
        let json = serde_json::to_string(&page).expect("serializable");
        let len = json.chars().count();
        if len <= max_chars {
            return json;
        }
        let over = len - max_chars;
        let chars = |s: &str| s.chars().count();
        let description_len = page.description.as_deref().map_or(0, chars);
        let longest_review = (0..page.reviews.len()).max_by_key(|&i| chars(&page.reviews[i].text));
        if page.reviews.len() > KEEP_REVIEWS {
            page.reviews.pop();
        } else if page.features.len() > KEEP_FEATURES {
            page.features.pop();
        } else if description_len > MIN_DESCRIPTION_CHARS {
            let target = description_len.saturating_sub(over + 1).max(MIN_DESCRIPTION_CHARS);
            page.description = page.description.map(|d| budget::truncate(&d, target));
        } else if let Some(i) = longest_review.filter(|&i| chars(&page.reviews[i].text) > MIN_REVIEW_CHARS) {
            let review_len = chars(&page.reviews[i].text);
            let target = review_len.saturating_sub(over + 1).max(MIN_REVIEW_CHARS);
            page.reviews[i].text = budget::truncate(&page.reviews[i].text, target);
        } else if !page.reviews.is_empty() {
            page.reviews.pop();
        } else if !page.features.is_empty() {
            page.features.pop();
        } else if description_len > 0 {
            let target = description_len.saturating_sub(over + 1);
            page.description = (target > 1).then(|| budget::truncate(page.description.as_deref().unwrap_or(""), target));
        } else if !page.specs.0.is_empty() {
            page.specs.0.pop();
        } else if page.url.is_some() {
            page.url = None;
        } else if chars(&page.title) > 40 {
            let target = chars(&page.title).saturating_sub(over + 1).max(40);
            page.title = budget::truncate(&page.title, target);
        } else {
            // Only the identity is left; the config's minimum budget makes this unreachable.
            return json;
        }
    }
}
