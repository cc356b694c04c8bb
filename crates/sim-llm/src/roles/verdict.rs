//! Supervisor: approves or sends back a plan, tool call or report. Rejecting attempt 1
//! (when configured) makes every run exercise the revise loop exactly once.

use serde_json::{Value, json};

use crate::config::SimConfig;
use crate::conversation::line_value;
use crate::wire::ChatRequest;

const PLAN_CRITIQUE: &str = "The plan does not say how the candidates will be compared; add a \
    step that compares price, rating and review evidence.";
const REPORT_CRITIQUE: &str = "Several recommendations lack evidence; cite the product id and \
    the facts behind each recommendation, and state the price of each option.";

pub fn answer(request: &ChatRequest, config: &SimConfig) -> Value {
    let text = request.last_user_text().unwrap_or_default();
    let check = line_value(&text, "Check:").map(|c| c.to_lowercase());
    // A missing or unreadable attempt is never "attempt 1": approving cannot loop forever.
    let attempt = line_value(&text, "Attempt:").and_then(|a| a.parse::<u64>().ok());
    let critique = match (check.as_deref(), attempt) {
        (Some("plan"), Some(1)) if config.reject_first_plan => Some(PLAN_CRITIQUE),
        (Some("report"), Some(1)) if config.reject_first_report => Some(REPORT_CRITIQUE),
        _ => None,
    };
    match critique {
        Some(feedback) => json!({ "decision": "revise", "feedback": feedback }),
        None => json!({ "decision": "approve", "feedback": "" }),
    }
}
