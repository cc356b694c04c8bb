//! Research agent planning: the plan's steps for the research query (`{"steps": [...]}`,
//! the research agent's plan schema), visibly more once the plan has been criticised, so
//! tests can tell a revision from a first draft.

use serde_json::{Value, json};

use super::keywords::keywords;
use crate::wire::ChatRequest;

/// Marks a user message carrying the supervisor's critique of the plan.
const PLAN_FEEDBACK: &str = "Feedback on your plan:";

pub fn answer(request: &ChatRequest) -> Value {
    let terms = keywords(&request.research_query());
    let revised = request.any_user_line_starts_with(PLAN_FEEDBACK);
    let mut steps = vec![
        format!("Search the catalog for \"{terms}\" to collect candidate products."),
        "Open the most relevant products to read their price, rating and details.".to_owned(),
        "Search the web for reviews of the leading candidates.".to_owned(),
    ];
    if revised {
        steps.push("Compare candidates on price, rating and review evidence.".to_owned());
        steps.push(
            "Write the report: recommend one product and cite the product id, price and \
             evidence behind each option."
                .to_owned(),
        );
    } else {
        steps.push("Compare the candidates and write the report with a recommendation.".to_owned());
    }
    json!({ "steps": steps })
}
