//! What the research agent tells its model.

use productresearch_record::Intent;
use serde_json::{Value, json};

/// Instructions for the agent's model.
pub const SYSTEM: &str = "You are a meticulous e-commerce research agent. You answer a shopper's research \
query by planning, gathering evidence with tools, and writing a report. Tools: product_search \
(search the product catalog), visit_product (open one product's full record by product_id), \
web_search (search web pages such as reviews and buying guides) and web_visit (read one page by \
url). Call one tool at a time and use what it returns; never invent products, prices or facts. \
When you have enough evidence, answer without calling a tool: write the final report in \
Markdown, recommend concrete products by citing their ids in square brackets like [hp-001], \
give prices and the evidence for each recommendation, and list the URLs you used.";

/// The opening user message.
pub fn opening(intent: &Intent) -> String {
    format!(
        "Research query: {}\n\nAbout the shopper: {}\n\nStart by writing a research plan as JSON \
         {{\"plan\": \"...\"}}: the numbered steps you will take to answer the query.",
        intent.query, intent.persona
    )
}

/// Sent once the plan stands, to start acting.
pub const ACT: &str = "Now carry out your plan: call the tools one at a time. When you have enough \
evidence, write the final report instead of calling a tool.";

/// Sent when the tool budget is used up.
pub const BUDGET_USED: &str = "You have used all your tool calls. Write the final report now from the \
evidence you have.";

/// Revision request after a rejected plan.
pub fn plan_feedback(feedback: &str) -> String {
    format!("Feedback on your plan: {feedback}\nWrite the revised plan as JSON {{\"plan\": \"...\"}}.")
}

/// Revision request after a rejected report.
pub fn report_feedback(feedback: &str) -> String {
    format!("Feedback on your report: {feedback}\nGather more evidence with the tools if needed, then write the revised report.")
}

/// What the agent sees in place of a tool result when its call was rejected.
pub fn call_rejected(feedback: &str) -> String {
    format!("This call was not executed. {feedback}")
}

/// Added after a tool result that was judged unhelpful.
pub fn result_feedback(feedback: &str) -> String {
    format!("Feedback on that tool result: {feedback}")
}

/// JSON schema of a plan.
pub fn plan_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"plan": {"type": "string"}},
        "required": ["plan"],
        "additionalProperties": false
    })
}
