//! Verdicts from the supervisor's model: Check Plan, Check Toolcall and Check
//! Report each ask the model to approve or revise, with concrete feedback.

use productresearch_llm::{ChatRequest, JsonSchema, LlmClient, LlmError, Message};
use productresearch_prompts::PromptSet;
use productresearch_record::{Decision, Intent, Step, StepKind, SupervisorState, Verdict};
use serde::Serialize;
use serde_json::json;

/// Asks the model for a verdict on `step`. `attempt` counts this step's tries
/// (1 for the first); `evidence` lists what the tools returned so far. The
/// prompts come from the templates `supervisor/system` and
/// `supervisor/check_{plan,toolcall,report}`.
pub async fn ask(
    llm: &LlmClient,
    prompts: &PromptSet,
    intent: &Intent,
    step: &Step,
    attempt: u32,
    evidence: &[String],
) -> Result<Verdict, LlmError> {
    let state = SupervisorState::for_step(step.kind);
    let bad_prompt = |e: productresearch_prompts::PromptError| LlmError::Unusable(e.to_string());
    let system = prompts.render("supervisor/system", json!({})).map_err(bad_prompt)?;
    let user = render(prompts, intent, step, attempt, evidence).map_err(bad_prompt)?;
    let request = ChatRequest {
        messages: vec![Message::system(system.text), Message::user(user.text)],
        json_schema: Some(JsonSchema { name: "verdict".into(), schema: SCHEMA.clone() }),
        ..ChatRequest::default()
    };
    let (value, response) = llm.chat_json(&request).await?;
    let decision = match value.get("decision").and_then(|d| d.as_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("approve") => Decision::Approve,
        Some("revise") => Decision::Revise,
        other => return Err(LlmError::Unusable(format!("verdict decision must be approve or revise, got {other:?}"))),
    };
    let feedback = value.get("feedback").and_then(|f| f.as_str()).unwrap_or("").trim().to_string();
    if decision == Decision::Revise && feedback.is_empty() {
        // A rejection the agent cannot act on would only burn a round.
        return Err(LlmError::Unusable("verdict revise without feedback".into()));
    }
    Ok(Verdict {
        decision,
        feedback: if decision == Decision::Approve { String::new() } else { feedback },
        state,
        deterministic: false,
        usage: response.usage,
        prompts: vec![system.prompt, user.prompt],
    })
}

/// Renders every supervisor template once with sample values, so a broken
/// override fails at start (one line naming the template), not mid-trajectory.
pub fn check_templates(prompts: &PromptSet) -> Result<(), productresearch_prompts::PromptError> {
    use productresearch_record::{Criterion, Rubric, RubricDimension, TokenUsage, ToolCall};
    let dimensions = productresearch_record::Dimension::ALL
        .iter()
        .map(|d| RubricDimension {
            dimension: *d,
            weight: 0.25,
            criteria: vec![Criterion { criterion: "c".into(), explanation: "e".into(), weight: 1.0 }],
        })
        .collect();
    let intent = Intent { persona: "p".into(), query: "q".into(), rubric: Rubric { dimensions }, follow_ups: Vec::new() };
    let evidence = ["e".to_string()];
    prompts.render("supervisor/system", json!({}))?;
    for step in [
        Step::text(StepKind::Plan, "p", TokenUsage::default(), "m"),
        Step::call(ToolCall { id: "c".into(), name: "n".into(), arguments: "{}".into() }, "r", TokenUsage::default(), "m"),
        Step::text(StepKind::Report, "r", TokenUsage::default(), "m"),
    ] {
        render(prompts, &intent, &step, 1, &evidence)?;
    }
    crate::check::check_templates(prompts)
}

/// What the check templates see. Weights are pre-formatted (two decimals) so a
/// template need not know float formatting.
#[derive(Serialize)]
struct CheckContext<'a> {
    attempt: u32,
    query: &'a str,
    plan: &'a str,
    report: &'a str,
    call: Option<CallView<'a>>,
    reasoning: &'a str,
    evidence: &'a [String],
    rubric: Vec<DimensionView<'a>>,
}

#[derive(Serialize)]
struct CallView<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct DimensionView<'a> {
    dimension: &'static str,
    weight: String,
    criteria: Vec<CriterionView<'a>>,
}

#[derive(Serialize)]
struct CriterionView<'a> {
    criterion: &'a str,
    weight: String,
    explanation: &'a str,
}

fn render(
    prompts: &PromptSet,
    intent: &Intent,
    step: &Step,
    attempt: u32,
    evidence: &[String],
) -> Result<productresearch_prompts::Rendered, productresearch_prompts::PromptError> {
    let template = match step.kind {
        StepKind::Plan => "supervisor/check_plan",
        StepKind::ToolCall | StepKind::ToolResult => "supervisor/check_toolcall",
        StepKind::Report => "supervisor/check_report",
    };
    let rubric = intent
        .rubric
        .dimensions
        .iter()
        .map(|d| DimensionView {
            dimension: d.dimension.name(),
            weight: format!("{:.2}", d.weight),
            criteria: d
                .criteria
                .iter()
                .map(|c| CriterionView { criterion: &c.criterion, weight: format!("{:.2}", c.weight), explanation: &c.explanation })
                .collect(),
        })
        .collect();
    let ctx = CheckContext {
        attempt,
        query: &intent.query,
        plan: &step.text,
        report: &step.text,
        call: step.tool_call.as_ref().map(|c| CallView { name: &c.name, arguments: &c.arguments }),
        reasoning: &step.reasoning,
        evidence,
        rubric,
    };
    prompts.render(template, &ctx)
}

/// Built once: every verdict request sends it.
static SCHEMA: std::sync::LazyLock<std::sync::Arc<serde_json::Value>> = std::sync::LazyLock::new(|| {
    std::sync::Arc::new(json!({
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "revise"]},
            // Bounded so a grammar-constrained endpoint closes the verdict
            // before its token limit; concrete feedback is a few sentences.
            "feedback": {"type": "string", "maxLength": 600}
        },
        "required": ["decision", "feedback"],
        "additionalProperties": false
    }))
});

#[cfg(test)]
mod tests {
    use productresearch_record::{Criterion, Dimension, FollowUp, Rubric, RubricDimension, TokenUsage, ToolCall};

    use super::*;

    fn intent() -> Intent {
        let dims = Dimension::ALL
            .iter()
            .map(|d| RubricDimension {
                dimension: *d,
                weight: 0.25,
                criteria: vec![Criterion { criterion: "Cites ids".into(), explanation: "traceable".into(), weight: 1.0 }],
            })
            .collect();
        Intent {
            persona: "p".into(),
            query: "Which kettle?".into(),
            rubric: Rubric { dimensions: dims },
            follow_ups: Vec::<FollowUp>::new(),
        }
    }

    fn render_text(step: &Step, evidence: &[String]) -> String {
        render(&PromptSet::builtin(), &intent(), step, 2, evidence).unwrap().text
    }

    // The templates reproduce the prompts the code used to build (the simulated
    // model reads the `Check:` and `Attempt:` lines).
    #[test]
    fn check_templates_render_the_documented_layout() {
        let plan = Step::text(StepKind::Plan, "1. search", TokenUsage::default(), "m");
        assert_eq!(
            render_text(&plan, &[]),
            "Check: plan\nAttempt: 2\nResearch query: Which kettle?\n\nProposed plan:\n1. search\n\n\
             Answer with JSON {\"decision\": \"approve\" | \"revise\", \"feedback\": \"...\"}."
        );
        let mut call = Step::call(
            ToolCall { id: "c".into(), name: "product_search".into(), arguments: "{\"q\":1}".into() },
            "why",
            TokenUsage::default(),
            "m",
        );
        assert_eq!(
            render_text(&call, &["a".into(), "b".into()]),
            "Check: toolcall\nAttempt: 2\nResearch query: Which kettle?\n\nProposed tool call: product_search({\"q\":1})\n\
             Agent's reasoning: why\n\nCalls made so far:\na\nb\n\n\
             Answer with JSON {\"decision\": \"approve\" | \"revise\", \"feedback\": \"...\"}."
        );
        call.reasoning.clear();
        assert!(!render_text(&call, &[]).contains("reasoning"));
        let report = Step::text(StepKind::Report, "R", TokenUsage::default(), "m");
        let text = render_text(&report, &["e".into()]);
        assert!(
            text.contains(
                "Rubric (dimension weight; criteria with weights):\n- comprehensiveness (0.25)\n  - Cites ids (1.00): traceable\n- depth (0.25)\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("\nEvidence the agent gathered (tool calls):\ne\n\nProposed report:\nR\n\nAnswer with JSON {\"decision\": \"approve\" | \"revise\", \"feedback\": \"...\"}."), "{text}");
    }
}
