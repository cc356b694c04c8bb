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

/// JSON schema of a plan: a list of steps, each bounded, so a
/// grammar-constrained endpoint closes it before its token limit.
///
/// A list, not one string: asked for `{"plan": "..."}`, the 0.5B embedded
/// model closed the string where it would have started a new line, and 16 of
/// 16 plans in a probe were one step ("1. Search the product catalog for
/// ..."), some ending on a colon. Asked for a list of three to six items, 16
/// of 16 had three or more steps (docs/benchmarks.md, "The plan's format").
/// Built once: every plan request sends it.
pub static PLAN_SCHEMA: std::sync::LazyLock<std::sync::Arc<Value>> = std::sync::LazyLock::new(|| {
    std::sync::Arc::new(json!({
        "type": "object",
        "properties": {"steps": {
            "type": "array",
            "items": {"type": "string", "maxLength": MAX_STEP_CHARS},
            "minItems": MIN_PLAN_STEPS,
            "maxItems": MAX_PLAN_STEPS
        }},
        "required": ["steps"],
        "additionalProperties": false
    }))
});

/// Fewest steps asked of a plan: search, open what it finds, answer.
const MIN_PLAN_STEPS: usize = 3;
/// Most steps asked of a plan.
const MAX_PLAN_STEPS: usize = 6;
/// Longest step asked for, in characters.
const MAX_STEP_CHARS: usize = 200;

/// The plan in a model's answer to [`plan_schema`], as numbered lines: each
/// step once (a small model filling six items repeats one; the repeat
/// would read as a loop), any numbering the model wrote replaced. A
/// `{"plan": "..."}` string is taken as it is, as an endpoint or a prompt
/// override of the earlier format answers. `None` when there is no step.
pub fn plan_text(answer: &Value) -> Option<String> {
    if let Some(plan) = answer.get("plan").and_then(Value::as_str).map(str::trim).filter(|p| !p.is_empty()) {
        return Some(plan.to_string());
    }
    let mut seen = std::collections::HashSet::new();
    let steps: Vec<&str> = answer
        .get("steps")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(|s| s.trim().trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches(['.', ')']).trim())
        .filter(|s| !s.is_empty() && seen.insert(s.to_lowercase().trim_end_matches(['.', ':']).to_string()))
        .collect();
    (!steps.is_empty()).then(|| steps.iter().enumerate().map(|(i, s)| format!("{}. {s}", i + 1)).collect::<Vec<_>>().join("\n"))
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
             {\"steps\": [\"...\", \"...\"]}: the steps you will take to answer the query, one per item."
        );
        assert_eq!(
            p.render(PLAN_FEEDBACK, feedback_context("add prices")).unwrap().text,
            "Feedback on your plan: add prices\nWrite the whole plan again as JSON {\"steps\": [\"...\", \"...\"]}."
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

    #[test]
    fn a_plan_is_its_steps_numbered_once_each() {
        let answer = json!({"steps": ["1. Search the catalog", "Open the top result.", "open the top result", " ", "3) Compare prices:"]});
        assert_eq!(plan_text(&answer).unwrap(), "1. Search the catalog\n2. Open the top result.\n3. Compare prices:");
        assert_eq!(plan_text(&json!({"plan": " 1. search\n2. open "})).unwrap(), "1. search\n2. open", "the earlier format");
        assert_eq!(plan_text(&json!({"steps": []})), None);
        assert_eq!(plan_text(&json!({"plan": ""})), None);
        assert_eq!(plan_text(&json!({"steps": "1. search"})), None);
        let schema = &*PLAN_SCHEMA;
        assert_eq!(schema["properties"]["steps"]["minItems"], 3);
    }
}
