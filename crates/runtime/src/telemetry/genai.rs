//! Spans of the OpenTelemetry GenAI semantic conventions, plus the mesh's own
//! `productresearch.*` attributes, built in one place so that every service
//! adds them with one line and docs/telemetry.md has one source to list.
//!
//! Payloads (prompts, completions, tool arguments and results, reports) are
//! never inlined: a span carries their size and sha256 (and the trajectory id
//! and step index that find them in the trajectory record). With
//! `telemetry.capture_content` the content is added too, cut to
//! `telemetry.content_max_bytes`: backends drop or reject spans past 100 KB–1 MB.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use tracing::Span;
use tracing::field::Empty;

use super::attributes;

/// What may be attached of a payload.
#[derive(Debug, Clone, Copy)]
struct ContentPolicy {
    capture: bool,
    max_bytes: usize,
}

static POLICY: OnceLock<ContentPolicy> = OnceLock::new();

/// Default cap of a captured payload and of any free-text attribute.
pub const DEFAULT_CONTENT_MAX_BYTES: usize = 2_048;

pub(crate) fn set_content_policy(capture: bool, max_bytes: usize) {
    let _ = POLICY.set(ContentPolicy { capture, max_bytes: max_bytes.max(16) });
}

fn policy() -> ContentPolicy {
    *POLICY.get_or_init(|| ContentPolicy { capture: false, max_bytes: DEFAULT_CONTENT_MAX_BYTES })
}

/// Longest value any attribute set through this module may have.
pub fn max_attribute_bytes() -> usize {
    policy().max_bytes
}

/// `text` cut to the attribute cap on a char boundary (an ellipsis marks a cut).
pub fn bounded(text: &str) -> String {
    let max = policy().max_bytes;
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Hex sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Records a payload on `span` as `<prefix>.bytes` and `<prefix>.sha256`, and,
/// when content capture is on, the (bounded) content as `content_field`.
/// The fields must have been declared by the span's constructor below.
pub fn record_payload(span: &Span, prefix: Payload, text: &str, content_field: Option<&'static str>) {
    // Hashing a whole conversation costs; a span nobody records needs none of it.
    if span.is_disabled() {
        return;
    }
    let (bytes, sha) = prefix.fields();
    span.record(bytes, text.len() as i64);
    span.record(sha, sha256(text.as_bytes()).as_str());
    if let Some(field) = content_field
        && policy().capture
    {
        span.record(field, bounded(text).as_str());
    }
}

/// The payloads a span can describe.
#[derive(Debug, Clone, Copy)]
pub enum Payload {
    /// A model request (the messages sent).
    Request,
    /// A model answer.
    Response,
    /// A tool call's arguments.
    ToolArguments,
    /// A tool call's result.
    ToolResult,
    /// A step's text (plan, report, reasoning).
    StepText,
}

impl Payload {
    fn fields(self) -> (&'static str, &'static str) {
        match self {
            Payload::Request => ("productresearch.request.bytes", "productresearch.request.sha256"),
            Payload::Response => ("productresearch.response.bytes", "productresearch.response.sha256"),
            Payload::ToolArguments => ("productresearch.tool.arguments.bytes", "productresearch.tool.arguments.sha256"),
            Payload::ToolResult => ("productresearch.tool.result.bytes", "productresearch.tool.result.sha256"),
            Payload::StepText => ("productresearch.step.text.bytes", "productresearch.step.text.sha256"),
        }
    }
}

/// Agent names (`gen_ai.agent.name`), one per role that calls a model.
pub mod agent {
    /// The supervisor.
    pub const SUPERVISOR: &str = "supervisor";
    /// The research agent.
    pub const RESEARCH_AGENT: &str = "research-agent";
    /// The user agent.
    pub const USER_AGENT: &str = "user-agent";
}

tokio::task_local! {
    static OWN_TRACE: ();
}

/// Runs `fut` so that a trajectory started in it gets a trace of its own, linked
/// to the current span instead of being its child: a batch is many trajectories
/// and each must be one trace.
pub fn own_trace<F: std::future::Future>(fut: F) -> impl std::future::Future<Output = F::Output> {
    OWN_TRACE.scope((), fut)
}

/// The root of a trajectory's trace (the supervisor's `invoke_agent`): a child
/// of the caller's context (so a caller's trace id is kept), or, inside
/// [`own_trace`], a new trace linked to the caller's span.
/// Termination and budget fields are recorded when it ends.
pub fn trajectory_span(trajectory_id: &str, user_id: &str) -> Span {
    if OWN_TRACE.try_with(|_| ()).is_ok() {
        use opentelemetry::trace::TraceContextExt;
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let caller = Span::current().context().span().span_context().clone();
        let span = trajectory_span_with(None, trajectory_id, user_id);
        if caller.is_valid() {
            span.add_link(caller);
        }
        return span;
    }
    trajectory_span_with(Span::current().id(), trajectory_id, user_id)
}

fn trajectory_span_with(parent: Option<tracing::Id>, trajectory_id: &str, user_id: &str) -> Span {
    tracing::info_span!(
        parent: parent,
        "trajectory",
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = agent::SUPERVISOR,
        { attributes::TRAJECTORY_ID } = %trajectory_id,
        user.id = %user_id,
        { attributes::TERMINATION_REASON } = Empty,
        productresearch.termination.detail = Empty,
        productresearch.budget.rounds_used = Empty,
        productresearch.budget.tool_calls_used = Empty,
        productresearch.budget.rejections = Empty,
        productresearch.budget.input_tokens = Empty,
        productresearch.budget.output_tokens = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    )
}

/// One round of `agent`'s work (round 1 until a report is rejected, and so on).
pub fn round_span(agent: &'static str, trajectory_id: &str, round: u32) -> Span {
    tracing::info_span!(
        "round",
        otel.name = %format!("round {round}"),
        gen_ai.agent.name = agent,
        { attributes::ROUND } = round as i64,
        { attributes::TRAJECTORY_ID } = %trajectory_id,
    )
}

/// The `round N` spans of one agent's side of a trajectory: the span of the
/// round in force, a new one (the previous one ending) when the round changes.
/// Round spans are children of the span current when they are made.
#[derive(Debug)]
pub struct Rounds {
    agent: &'static str,
    trajectory_id: String,
    current: Option<(u32, Span)>,
}

impl Rounds {
    /// No round yet.
    pub fn new(agent: &'static str, trajectory_id: &str) -> Self {
        Self { agent, trajectory_id: trajectory_id.to_string(), current: None }
    }

    /// The span of `round`.
    pub fn span(&mut self, round: u32) -> Span {
        match &self.current {
            Some((n, span)) if *n == round => span.clone(),
            _ => {
                let span = round_span(self.agent, &self.trajectory_id, round);
                self.current = Some((round, span.clone()));
                span
            }
        }
    }
}

/// One step the research agent works on; `kind` is recorded once known
/// (`plan`, `tool_call`, `tool_result`, `report`). `index` is the step's seq
/// in the record, as the supervisor gave it (`None`: it gave none).
pub fn step_span(round_span: &Span, trajectory_id: &str, index: Option<u64>) -> Span {
    let span = tracing::info_span!(
        parent: round_span,
        "step",
        gen_ai.agent.name = agent::RESEARCH_AGENT,
        { attributes::TRAJECTORY_ID } = %trajectory_id,
        { attributes::STEP_INDEX } = Empty,
        { attributes::STEP_KIND } = Empty,
        productresearch.step.text.bytes = Empty,
        productresearch.step.text.sha256 = Empty,
        gen_ai.tool.name = Empty,
        gen_ai.tool.call.id = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    if let Some(index) = index {
        span.record(attributes::STEP_INDEX, index as i64);
    }
    span
}

/// Names the step span after its kind once the step exists.
pub fn record_step_kind(span: &Span, kind: &str) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    // `otel.name` only names a span not yet started; this one has children by now.
    span.context().span().update_name(format!("step {kind}"));
    span.record(attributes::STEP_KIND, kind);
}

/// A model call (`chat <model>`); see [`record_chat_response`].
pub fn chat_span(agent: &str, model: &str) -> Span {
    let span = tracing::info_span!(
        "chat",
        otel.name = %format!("chat {model}"),
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "openai",
        gen_ai.request.model = %model,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.response.finish_reasons = Empty,
        gen_ai.agent.name = Empty,
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
        productresearch.request.bytes = Empty,
        productresearch.request.sha256 = Empty,
        productresearch.response.bytes = Empty,
        productresearch.response.sha256 = Empty,
        productresearch.attempts = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    if !agent.is_empty() {
        span.record("gen_ai.agent.name", agent);
    }
    span
}

/// Records a model answer on its chat span.
pub fn record_chat_response(span: &Span, model: &str, input_tokens: u64, output_tokens: u64, finish_reason: Option<&str>) {
    span.record("gen_ai.response.model", model);
    span.record("gen_ai.usage.input_tokens", input_tokens as i64);
    span.record("gen_ai.usage.output_tokens", output_tokens as i64);
    if let Some(reason) = finish_reason {
        // tracing has no array values; a JSON array string keeps the spec's shape readable.
        span.record("gen_ai.response.finish_reasons", format!("[\"{}\"]", bounded(reason)).as_str());
    }
}

/// A tool execution (`execute_tool <tool>`) by `agent`.
pub fn execute_tool_span(agent: &str, tool: &str, call_id: &str) -> Span {
    tracing::info_span!(
        "execute_tool",
        otel.name = %format!("execute_tool {tool}"),
        gen_ai.operation.name = "execute_tool",
        gen_ai.agent.name = %agent,
        gen_ai.tool.name = %tool,
        gen_ai.tool.call.id = %call_id,
        gen_ai.tool.type = "function",
        gen_ai.tool.call.arguments = Empty,
        gen_ai.tool.call.result = Empty,
        productresearch.tool.arguments.bytes = Empty,
        productresearch.tool.arguments.sha256 = Empty,
        productresearch.tool.result.bytes = Empty,
        productresearch.tool.result.sha256 = Empty,
        productresearch.tool.is_error = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    )
}

/// The supervisor's check of one step in state `state`; the verdict is
/// recorded with [`record_verdict`].
pub fn verdict_span(round_span: &Span, state: &str, round: u32, attempt: u32) -> Span {
    tracing::info_span!(
        parent: round_span,
        "verdict",
        otel.name = %format!("verdict {state}"),
        gen_ai.agent.name = agent::SUPERVISOR,
        { attributes::SUPERVISOR_STATE } = %state,
        { attributes::ROUND } = round as i64,
        productresearch.attempt = attempt as i64,
        { attributes::STEP_KIND } = Empty,
        gen_ai.tool.name = Empty,
        { attributes::VERDICT } = Empty,
        productresearch.verdict.deterministic = Empty,
        { attributes::VERDICT_SCORE } = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    )
}

/// Records the decision (`approve` / `revise`) on a verdict span and counts it.
pub fn record_verdict(span: &Span, state: &str, decision: &str, deterministic: bool) {
    span.record(attributes::VERDICT, decision);
    span.record("productresearch.verdict.deterministic", deterministic);
    super::metrics::verdict(state, decision);
}

/// Marks `span` failed with `error_type` (a short class: `timeout`,
/// `model_failure`, ...) and a bounded description.
pub fn record_error(span: &Span, error_type: &str) {
    span.record("error.type", bounded(error_type).as_str());
    span.record("otel.status_code", "error");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_on_a_char_boundary() {
        let long = "é".repeat(DEFAULT_CONTENT_MAX_BYTES);
        let cut = bounded(&long);
        assert!(cut.len() <= max_attribute_bytes());
        assert!(cut.ends_with("..."));
        assert_eq!(bounded("short"), "short");
    }

    #[test]
    fn sha256_is_hex() {
        assert_eq!(sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
