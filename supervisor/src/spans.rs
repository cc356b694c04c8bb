//! The supervisor's span attributes and metrics (listed in docs/telemetry.md):
//! the trajectory's end, one `verdict <state>` span per checked step under
//! the agent's `step <kind>` span, tokens per role and round.

use productresearch_record::{Decision, Step, Termination, TokenUsage, Trajectory, Verdict};
use productresearch_runtime::telemetry::{genai, metrics};
use serde::Serialize;
use tracing::Span;

/// The serde (snake_case) name of a record enum.
fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The span of the check of `step` in `round`: a child of the agent's span of
/// that step (`traceparent`, sent with the step), else of the round's span.
/// The round span is opened either way: it times the supervisor's round.
pub(crate) fn verdict_span(rounds: &mut genai::Rounds, step: &Step, traceparent: &str, round: u32, attempt: u32) -> Span {
    let state = name(&productresearch_record::SupervisorState::for_step(step.kind));
    let span = genai::verdict_span(&rounds.span(round), &state, round, attempt);
    productresearch_runtime::telemetry::set_parent_from_traceparent(&span, traceparent);
    span.record("productresearch.step.kind", name(&step.kind).as_str());
    if let Some(call) = &step.tool_call {
        span.record("gen_ai.tool.name", call.name.as_str());
    }
    span
}

/// Records `verdict` on its span, and the tokens of the step and of the
/// verdict as spent by their roles in `round`.
pub(crate) fn record_verdict(span: &Span, step: &Step, verdict: &Verdict, round: u32) {
    let decision = if verdict.decision == Decision::Approve { "approve" } else { "revise" };
    genai::record_verdict(span, &name(&verdict.state), decision, verdict.deterministic);
    metrics::tokens(genai::agent::RESEARCH_AGENT, round, step.usage.prompt_tokens, step.usage.completion_tokens);
    metrics::tokens(genai::agent::SUPERVISOR, round, verdict.usage.prompt_tokens, verdict.usage.completion_tokens);
}

/// Records how the trajectory ended and the budget it used on the trajectory span.
pub(crate) fn record_end(span: &Span, trajectory: &Trajectory, round: u32, termination: &Termination) {
    let reason = name(&termination.reason);
    span.record(productresearch_runtime::telemetry::attributes::TERMINATION_REASON, reason.as_str());
    span.record("productresearch.termination.detail", genai::bounded(&termination.detail).as_str());
    span.record("productresearch.budget.rounds_used", round as i64);
    let steps = trajectory.steps();
    let calls = steps.iter().filter(|(_, s, v)| s.tool_call.is_some() && v.is_some_and(|v| v.decision == Decision::Approve)).count();
    let rejections = steps.iter().filter(|(_, _, v)| v.is_some_and(|v| v.decision != Decision::Approve)).count();
    span.record("productresearch.budget.tool_calls_used", calls as i64);
    span.record("productresearch.budget.rejections", rejections as i64);
    let usage = trajectory.usage();
    span.record("productresearch.budget.input_tokens", usage.prompt_tokens as i64);
    span.record("productresearch.budget.output_tokens", usage.completion_tokens as i64);
    if !matches!(termination.reason, productresearch_record::TerminationReason::Approved) {
        genai::record_error(span, &reason);
    }
    metrics::trajectory_ended(&reason);
}

/// Tokens the user agent spent on the intent (round 0).
pub(crate) fn record_intent_usage(usage: &TokenUsage) {
    metrics::tokens(genai::agent::USER_AGENT, 0, usage.prompt_tokens, usage.completion_tokens);
}
