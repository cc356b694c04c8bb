//! What the research agent tells its model: the templates `research_agent/*`
//! (see docs/prompts.md) and the schema of a plan.

use productresearch_prompts::{PromptError, PromptSet};
use productresearch_record::Intent;
use serde_json::{Value, json};

/// The system message.
pub const SYSTEM: &str = "research_agent/system";
/// The opening user message: query, persona, "write a plan".
pub const PLAN: &str = "research_agent/plan";
/// Sent once the plan stands, to start acting.
pub const ACT: &str = "research_agent/act";
/// Sent when the tool budget is used up.
pub const BUDGET_USED: &str = "research_agent/budget_used";
/// Revision request after a rejected plan (`feedback`).
pub const PLAN_FEEDBACK: &str = "research_agent/plan_feedback";
/// Revision request after a rejected report (`feedback`).
pub const REPORT_FEEDBACK: &str = "research_agent/report_feedback";
/// What the agent sees in place of a tool result when its call was rejected (`feedback`).
pub const CALL_REJECTED: &str = "research_agent/call_rejected";
/// Added after a tool result that was judged unhelpful (`feedback`).
pub const RESULT_FEEDBACK: &str = "research_agent/result_feedback";

/// The user's next turn after an approved report (`message`).
pub const FOLLOW_UP: &str = "research_agent/follow_up";

/// Variables of the opening message.
pub fn opening_context(intent: &Intent) -> Value {
    json!({"query": intent.query, "persona": intent.persona})
}

/// Variables of the feedback messages.
pub fn feedback_context(feedback: &str) -> Value {
    json!({"feedback": feedback})
}

/// Variables of the follow-up turn.
pub fn follow_up_context(message: &str) -> Value {
    json!({"message": message})
}

/// Renders every template of the agent once with sample values, so a broken
/// override fails at start (one line naming the template), not mid-trajectory.
pub fn check(prompts: &PromptSet) -> Result<(), PromptError> {
    let intent = json!({"query": "q", "persona": "p"});
    for name in [SYSTEM, ACT, BUDGET_USED] {
        prompts.render(name, json!({}))?;
    }
    prompts.render(PLAN, &intent)?;
    prompts.render(FOLLOW_UP, follow_up_context("m"))?;
    for name in [PLAN_FEEDBACK, REPORT_FEEDBACK, CALL_REJECTED, RESULT_FEEDBACK] {
        prompts.render(name, feedback_context("f"))?;
    }
    Ok(())
}

/// JSON schema of a plan, bounded so a grammar-constrained endpoint closes it
/// before its token limit (a plan is a handful of numbered steps).
pub fn plan_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"plan": {"type": "string", "maxLength": 1200}},
        "required": ["plan"],
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The simulated model and the supervisor's parsing rely on these lines.
    #[test]
    fn builtin_templates_render_the_documented_messages() {
        let p = PromptSet::builtin();
        check(&p).unwrap();
        let intent = json!({"query": "Which kettle?", "persona": "A tea drinker."});
        assert_eq!(
            p.render(PLAN, &intent).unwrap().text,
            "Research query: Which kettle?\n\nAbout the shopper: A tea drinker.\n\nStart by writing a research plan as JSON \
             {\"plan\": \"...\"}: the numbered steps you will take to answer the query."
        );
        assert_eq!(
            p.render(PLAN_FEEDBACK, feedback_context("add prices")).unwrap().text,
            "Feedback on your plan: add prices\nWrite the whole plan again as JSON {\"plan\": \"...\"}."
        );
        assert_eq!(p.render(CALL_REJECTED, feedback_context("repeat")).unwrap().text, "This call was not executed. repeat");
        assert!(p.render(SYSTEM, json!({})).unwrap().text.contains("web_visit"));
    }

    // The text the code wrote inline before it was a template, byte for byte.
    #[test]
    fn the_follow_up_turn_is_the_former_inline_text() {
        let message = "And if I only have $80?";
        assert_eq!(
            PromptSet::builtin().render(FOLLOW_UP, follow_up_context(message)).unwrap().text,
            format!("The user follows up: {message}\nResearch what this changes, then write a new report that answers the follow-up.")
        );
    }
}
