//! Verdicts from the supervisor's model: Check Plan, Check Toolcall and Check
//! Report each ask the model to approve or revise, with concrete feedback.

use productresearch_llm::{ChatRequest, JsonSchema, LlmClient, LlmError, Message};
use productresearch_record::{Decision, Intent, Step, StepKind, SupervisorState, Verdict};
use serde_json::json;

/// Instructions for the supervisor's model.
const SYSTEM: &str = "You supervise a shopping research agent step by step. You check one proposed \
step at a time and answer with one JSON object {\"decision\": \"approve\" | \"revise\", \"feedback\": \"...\"}. \
Check Plan: is the plan logical and complete for the query? Check Toolcall: is the call relevant, \
its arguments sensible, and not redundant with earlier calls? Check Report: judge strictly against \
the rubric; look for claims without evidence from the tool results, logic drift and thin evidence. \
Approve a step that is good enough. When you revise, the feedback must say concretely what to change.";

/// Asks the model for a verdict on `step`. `attempt` counts this step's tries
/// (1 for the first); `evidence` lists what the tools returned so far.
pub async fn ask(llm: &LlmClient, intent: &Intent, step: &Step, attempt: u32, evidence: &[String]) -> Result<Verdict, LlmError> {
    let state = SupervisorState::for_step(step.kind);
    let request = ChatRequest {
        messages: vec![Message::system(SYSTEM), Message::user(render(intent, step, attempt, evidence))],
        json_schema: Some(JsonSchema { name: "verdict".into(), schema: schema() }),
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
    })
}

fn render(intent: &Intent, step: &Step, attempt: u32, evidence: &[String]) -> String {
    let check = match step.kind {
        StepKind::Plan => "plan",
        StepKind::ToolCall | StepKind::ToolResult => "toolcall",
        StepKind::Report => "report",
    };
    let mut out = format!("Check: {check}\nAttempt: {attempt}\nResearch query: {}\n", intent.query);
    match step.kind {
        StepKind::Plan => out.push_str(&format!("\nProposed plan:\n{}\n", step.text)),
        StepKind::ToolCall | StepKind::ToolResult => {
            if let Some(c) = &step.tool_call {
                out.push_str(&format!("\nProposed tool call: {}({})\n", c.name, c.arguments));
            }
            if !step.reasoning.is_empty() {
                out.push_str(&format!("Agent's reasoning: {}\n", step.reasoning));
            }
            if !evidence.is_empty() {
                out.push_str(&format!("\nCalls made so far:\n{}\n", evidence.join("\n")));
            }
        }
        StepKind::Report => {
            out.push_str("\nRubric (dimension weight; criteria with weights):\n");
            for d in &intent.rubric.dimensions {
                out.push_str(&format!("- {} ({:.2})\n", d.dimension.name(), d.weight));
                for c in &d.criteria {
                    out.push_str(&format!("  - {} ({:.2}): {}\n", c.criterion, c.weight, c.explanation));
                }
            }
            if !evidence.is_empty() {
                out.push_str(&format!("\nEvidence the agent gathered (tool calls):\n{}\n", evidence.join("\n")));
            }
            out.push_str(&format!("\nProposed report:\n{}\n", step.text));
        }
    }
    out.push_str("\nAnswer with JSON {\"decision\": \"approve\" | \"revise\", \"feedback\": \"...\"}.");
    out
}

fn schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "revise"]},
            "feedback": {"type": "string"}
        },
        "required": ["decision", "feedback"],
        "additionalProperties": false
    })
}
