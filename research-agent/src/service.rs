//! gRPC edge of the research agent: the bidirectional Research stream.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use productresearch_llm::LlmClient;
use productresearch_proto::common::v1 as pb;
use productresearch_proto::research_agent::v1::research_agent_service_server::ResearchAgentService;
use productresearch_proto::research_agent::v1::{
    ResearchRequest, ResearchResponse, StartResearch, StepPosition, research_request, research_response,
};
use productresearch_proto::tool_gateway::v1::ToolDefinition;
use productresearch_record::{Intent, Step, StepKind, SupervisorState, ToolSpec, TrajectoryEvent, Verdict};
use productresearch_runtime::failure::{self, FailureKind};
use productresearch_runtime::telemetry::genai;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, info_span, warn};

use crate::offer::ToolSet;
use crate::session::{Failure, Session};
use crate::tools::Tools;

/// Steps buffered towards a slow supervisor; the agent waits for each verdict
/// anyway, so a small bound suffices.
const OUTBOX: usize = 4;

/// A tool list as a start message carried it, and decoded.
type DecodedTools = (Vec<ToolDefinition>, ToolSet);

/// The ResearchAgentService implementation.
pub struct Service<T> {
    llm: LlmClient,
    tools: Arc<T>,
    default_max_tool_calls: u32,
    prompts: productresearch_prompts::PromptSet,
    /// See [`Session::keeping_sent_back_reports`].
    keep_sent_back_reports: bool,
    /// The last tool list a start message carried and its decoded form:
    /// a batch's sessions all get the same list, decoded once and shared
    /// (its JSON schemas were ~40 KB per session at 1,000 in flight).
    last_tools: std::sync::Mutex<Option<DecodedTools>>,
}

impl<T: Tools> Service<T> {
    /// A service using `llm` and `tools`.
    pub fn new(llm: LlmClient, tools: Arc<T>, default_max_tool_calls: u32) -> Self {
        Self {
            llm,
            tools,
            default_max_tool_calls,
            prompts: productresearch_prompts::PromptSet::builtin(),
            keep_sent_back_reports: true,
            last_tools: Default::default(),
        }
    }

    /// The tools of a start message, decoded, or the shared copy when the
    /// list is the one decoded last; `None` when it lists none.
    fn decode_tools(&self, listed: Vec<ToolDefinition>) -> Result<Option<ToolSet>, Status> {
        if listed.is_empty() {
            return Ok(None);
        }
        let mut last = self.last_tools.lock().expect("tool list cache lock");
        if let Some((_, specs)) = last.as_ref().filter(|(raw, _)| *raw == listed) {
            return Ok(Some(specs.clone()));
        }
        let specs: ToolSet = listed
            .iter()
            .cloned()
            .map(ToolSpec::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| failure::status(FailureKind::InvalidInput, format!("invalid tool definition: {e}")))?
            .into();
        *last = Some((listed, specs.clone()));
        Ok(Some(specs))
    }

    /// Whether sessions keep a sent-back report in the context (see
    /// [`Session::keeping_sent_back_reports`]).
    pub fn keeping_sent_back_reports(mut self, keep: bool) -> Self {
        self.keep_sent_back_reports = keep;
        self
    }

    /// Sessions use these prompt templates instead of the built-in ones.
    pub fn with_prompts(mut self, prompts: productresearch_prompts::PromptSet) -> Self {
        self.prompts = prompts;
        self
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<ResearchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<T: Tools> ResearchAgentService for Service<T> {
    type ResearchStream = ResponseStream;

    async fn research(&self, request: Request<Streaming<ResearchRequest>>) -> Result<Response<ResponseStream>, Status> {
        let mut inbound = request.into_inner();
        let first =
            inbound.message().await?.ok_or_else(|| failure::status(FailureKind::Protocol, "stream closed before the start message"))?;
        let Some(research_request::Message::Start(mut start)) = first.message else {
            return Err(failure::status(FailureKind::Protocol, "the first message must be start"));
        };
        let min_tool_calls = start.min_tool_calls;
        let skip_result_verdicts = start.skip_result_verdicts;
        let listed = self.decode_tools(std::mem::take(&mut start.tools))?;
        let Start { trajectory_id, intent, transcript, max_tool_calls } = decode_start(start)?;
        let max_tool_calls = if max_tool_calls == 0 { self.default_max_tool_calls } else { max_tool_calls };
        // The supervisor lists the tools once for its batch; one that sends
        // none (older than the field) leaves it to the agent.
        let specs = match listed {
            Some(listed) => listed,
            None => ToolSet::from(
                self.tools.list().await.map_err(|e| failure::status_of(FailureKind::Tool, true, format!("cannot list tools: {e}")))?,
            ),
        };
        let mut session = Session::with_prompts(
            self.llm.clone(),
            self.tools.clone(),
            specs,
            trajectory_id.clone(),
            &intent,
            max_tool_calls,
            self.prompts.clone(),
        )
        .requiring_tool_calls(min_tool_calls)
        .keeping_sent_back_reports(self.keep_sent_back_reports);
        session.replay(&transcript).map_err(|e| failure::status(FailureKind::InvalidInput, e))?;

        let (tx, rx) = mpsc::channel(OUTBOX);
        let span = info_span!("research_agent.session", { productresearch_runtime::telemetry::attributes::TRAJECTORY_ID } = %trajectory_id, gen_ai.agent.name = "research-agent", resumed_events = transcript.len());
        let channel = Channel { inbound, tx, skip_result_verdicts };
        productresearch_runtime::context::spawn(drive(session, channel, trajectory_id, first.next).instrument(span));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx).map(|item| item.map(|boxed| *boxed)))))
    }
}

/// The session's two directions, and whether a tool result waits for a verdict.
struct Channel {
    inbound: Streaming<ResearchRequest>,
    /// Boxed: tokio allocates a channel's slots 32 at a time, and a
    /// `ResearchResponse` inline is 336 bytes, ~10 KB per session in flight.
    tx: mpsc::Sender<Result<Box<ResearchResponse>, Status>>,
    skip_result_verdicts: bool,
}

/// Proposes steps and applies verdicts until the report is approved, the
/// supervisor closes its side, or the supervisor goes away (then the work in
/// progress, model call included, is dropped). `next` is where the first step
/// goes in the record; every verdict says where the one after it goes.
async fn drive<T: Tools>(mut session: Session<T>, channel: Channel, trajectory_id: String, mut next: Option<StepPosition>) {
    let Channel { mut inbound, tx, skip_result_verdicts } = channel;
    // Spans: round N -> step <kind> -> chat <model> / execute_tool <tool>, and
    // the supervisor's verdict <state> (through the message's traceparent).
    let mut rounds = genai::Rounds::new(genai::agent::RESEARCH_AGENT, &trajectory_id);
    // A supervisor older than the positions sends none: the spans then sit
    // in round 1 without a step index.
    let mut round = 1;
    // Where the step after an approved call's result goes, when no verdict
    // on the result will say it.
    let mut after_result: Option<StepPosition> = None;
    while !session.done() {
        if let Some(p) = &next {
            round = p.round.max(1);
        }
        let step_span = genai::step_span(&rounds.span(round), &trajectory_id, next.as_ref().map(|p| p.seq));
        let next_step = tokio::select! {
            next = session.next_step().instrument(step_span.clone()) => next,
            _ = tx.closed() => return,
        };
        let step = match next_step {
            Ok(step) => {
                record_step(&step_span, &step);
                step
            }
            Err(failure) => {
                genai::record_error(&step_span, failure.kind());
                warn!(?failure, "session cannot continue");
                let _ =
                    tx.send(Ok(respond(research_response::Message::Failure(to_proto(failure)), &step_span, skip_result_verdicts))).await;
                return;
            }
        };
        // The supervisor's verdict span becomes a child of the step span; the
        // step span is in scope until the verdict arrives (a span ends at its
        // last exit), so the verdict lies inside the step in time too.
        if tx.send(Ok(respond(research_response::Message::Step(step.clone().into()), &step_span, skip_result_verdicts))).await.is_err() {
            return;
        }
        // Recorded as it comes: the supervisor sends no verdict on a result.
        if step.kind == StepKind::ToolResult && skip_result_verdicts {
            session.apply(&step, &Verdict::approve(SupervisorState::CheckToolcall));
            next = after_result.take();
            continue;
        }
        let verdict = match inbound.message().instrument(step_span.clone()).await {
            Ok(Some(ResearchRequest { message: Some(research_request::Message::Verdict(v)), next: position, after_result: after })) => {
                next = position;
                after_result = after;
                Verdict::try_from(v)
            }
            Ok(Some(_)) => {
                let _ = tx.send(Err(failure::status(FailureKind::Protocol, "expected a verdict"))).await;
                return;
            }
            // The supervisor ended the session (cap reached) or went away.
            Ok(None) | Err(_) => return,
        };
        match verdict {
            Ok(v) => session.apply(&step, &v),
            Err(e) => {
                let _ = tx.send(Err(failure::status(FailureKind::Protocol, format!("invalid verdict: {e}")))).await;
                return;
            }
        }
    }
}

/// A message to the supervisor carrying the trace context of `span`, the step
/// it is about.
/// A message to the supervisor; `skips_result_verdicts` accepts the
/// supervisor's offer to send no verdict on a tool result.
/// An outbox item (boxed: see [`Channel::tx`]).
fn respond(message: research_response::Message, span: &tracing::Span, skips_result_verdicts: bool) -> Box<ResearchResponse> {
    Box::new(ResearchResponse {
        message: Some(message),
        traceparent: productresearch_runtime::telemetry::traceparent(span).unwrap_or_default(),
        skips_result_verdicts,
    })
}

/// Names the step span after the step and records its payload and usage.
fn record_step(span: &tracing::Span, step: &Step) {
    let kind = match step.kind {
        StepKind::Plan => "plan",
        StepKind::ToolCall => "tool_call",
        StepKind::ToolResult => "tool_result",
        StepKind::Report => "report",
    };
    genai::record_step_kind(span, kind);
    let text = if step.text.is_empty() { &step.reasoning } else { &step.text };
    genai::record_payload(span, genai::Payload::StepText, text, None);
    if let Some(call) = &step.tool_call {
        span.record("gen_ai.tool.name", call.name.as_str());
        span.record("gen_ai.tool.call.id", call.id.as_str());
    }
    if let Some(result) = &step.tool_result {
        span.record("gen_ai.tool.name", result.name.as_str());
        span.record("gen_ai.tool.call.id", result.call_id.as_str());
    }
    span.record("gen_ai.usage.input_tokens", step.usage.prompt_tokens as i64);
    span.record("gen_ai.usage.output_tokens", step.usage.completion_tokens as i64);
}

/// What a `start` message opens a session with.
struct Start {
    trajectory_id: String,
    intent: Intent,
    transcript: Vec<TrajectoryEvent>,
    max_tool_calls: u32,
}

fn decode_start(start: StartResearch) -> Result<Start, Status> {
    let intent = start.intent.ok_or_else(|| failure::status(FailureKind::InvalidInput, "start.intent is required"))?;
    let intent = Intent::try_from(intent).map_err(|e| failure::status(FailureKind::InvalidInput, format!("invalid intent: {e}")))?;
    let transcript = start
        .transcript
        .into_iter()
        .map(TrajectoryEvent::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failure::status(FailureKind::InvalidInput, format!("invalid transcript: {e}")))?;
    Ok(Start { trajectory_id: start.trajectory_id, intent, transcript, max_tool_calls: start.max_tool_calls })
}

fn to_proto(f: Failure) -> pb::Failure {
    match f {
        Failure::Model { detail, transient } => {
            pb::Failure { kind: pb::FailureKind::Model as i32, detail, transient, endpoint_broken: false }
        }
        Failure::Tool(detail) => pb::Failure { kind: pb::FailureKind::Tool as i32, detail, transient: true, endpoint_broken: false },
        Failure::Endpoint(detail) => pb::Failure { kind: pb::FailureKind::Model as i32, detail, transient: false, endpoint_broken: true },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use productresearch_llm::EndpointConfig;
    use productresearch_proto::research_agent::v1::research_agent_service_client::ResearchAgentServiceClient;
    use productresearch_proto::research_agent::v1::research_agent_service_server::ResearchAgentServiceServer;
    use productresearch_record::{ToolResult, fixtures};
    use productresearch_runtime::client::{ClientConfig, channel};

    use super::*;

    /// A gateway that answers every call and counts how often it is listed.
    #[derive(Default)]
    struct CountingTools {
        listed: AtomicUsize,
    }

    impl Tools for CountingTools {
        async fn list(&self) -> Result<Vec<ToolSpec>, String> {
            self.listed.fetch_add(1, Ordering::SeqCst);
            Ok(fixtures::tools())
        }

        async fn call(&self, _: &str, call_id: &str, name: &str, _: &str) -> Result<ToolResult, String> {
            let content = r#"{"results":[{"product_id":"hp-007","title":"Quiet Headphones","price":199.0}],"total":1}"#;
            Ok(ToolResult { call_id: call_id.into(), name: name.into(), content: content.into(), is_error: false })
        }
    }

    #[test]
    fn sessions_handed_the_same_tool_list_share_one_decoded_copy() {
        let llm = LlmClient::new(EndpointConfig::new("http://127.0.0.1:9/v1", "m")).unwrap();
        let service = Service::new(llm, Arc::new(CountingTools::default()), 3);
        let listed: Vec<ToolDefinition> = fixtures::tools().into_iter().map(Into::into).collect();
        let first = service.decode_tools(listed.clone()).unwrap().unwrap();
        let second = service.decode_tools(listed.clone()).unwrap().unwrap();
        assert!(Arc::ptr_eq(first.told(), second.told()), "the same list is decoded once");
        assert_eq!(&first.told()[..], &fixtures::tools()[..]);
        // Another list is decoded anew, and a bad one is refused.
        let fewer = service.decode_tools(listed[..1].to_vec()).unwrap().unwrap();
        assert_eq!(fewer.told().len(), 1);
        assert!(!Arc::ptr_eq(first.told(), fewer.told()));
        let mut bad = listed[..1].to_vec();
        bad[0].parameters_json_schema = "{not json".into();
        assert!(service.decode_tools(bad).unwrap_err().message().contains("invalid tool definition"));
        assert!(service.decode_tools(Vec::new()).unwrap().is_none(), "none listed: the agent lists them");
    }

    fn verdict(kind: StepKind, next: u64, after_result: Option<u64>) -> ResearchRequest {
        let position = |seq| StepPosition { seq, round: 1 };
        ResearchRequest {
            message: Some(research_request::Message::Verdict(Verdict::approve(SupervisorState::for_step(kind)).into())),
            next: Some(position(next)),
            after_result: after_result.map(position),
        }
    }

    fn step(message: Option<ResearchResponse>) -> Step {
        match message.and_then(|m| m.message) {
            Some(research_response::Message::Step(s)) => Step::try_from(s).unwrap(),
            other => panic!("expected a step, got {other:?}"),
        }
    }

    /// With the tools in `start` the agent lists none itself, and with
    /// `skip_result_verdicts` it goes from a tool result straight to its next
    /// step, no verdict in between.
    #[tokio::test]
    async fn tools_come_with_the_start_and_a_result_waits_for_no_verdict() {
        let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
        let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sim-model")).unwrap();
        let tools = Arc::new(CountingTools::default());
        let listener = productresearch_runtime::server::listen("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let routes = tonic::service::Routes::new(ResearchAgentServiceServer::new(Service::new(llm, tools.clone(), 3)));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let config = productresearch_runtime::server::ServerConfig::default();
            productresearch_runtime::server::serve(listener, routes, &[], &config, async {
                let _ = stopped.await;
            })
            .await
        });
        let mut client = ResearchAgentServiceClient::new(channel("research-agent", &ClientConfig::single(&url)).unwrap());

        let (tx, rx) = mpsc::channel(4);
        let start = StartResearch {
            trajectory_id: "t-1".into(),
            intent: Some(fixtures::intent("Which noise cancelling headphones under $300?").into()),
            tools: fixtures::tools().into_iter().map(Into::into).collect(),
            skip_result_verdicts: true,
            ..Default::default()
        };
        let first = ResearchRequest {
            message: Some(research_request::Message::Start(start)),
            next: Some(StepPosition { seq: 1, round: 1 }),
            after_result: None,
        };
        tx.send(first).await.unwrap();
        let mut steps = client.research(ReceiverStream::new(rx)).await.unwrap().into_inner();
        let plan = steps.message().await.unwrap();
        assert!(plan.as_ref().unwrap().skips_result_verdicts, "the agent accepts the offer");
        assert_eq!(step(plan).kind, StepKind::Plan);
        tx.send(verdict(StepKind::Plan, 3, None)).await.unwrap();
        let call = step(steps.message().await.unwrap());
        assert_eq!(call.kind, StepKind::ToolCall);
        tx.send(verdict(StepKind::ToolCall, 5, Some(7))).await.unwrap();
        let result = step(steps.message().await.unwrap());
        assert_eq!(result.kind, StepKind::ToolResult);
        assert_eq!(result.tool_result.unwrap().call_id, call.tool_call.unwrap().id);
        // No verdict sent: the next step comes anyway (the bound only turns
        // an agent that waits into a failure instead of a hang).
        let after = tokio::time::timeout(std::time::Duration::from_secs(30), steps.message())
            .await
            .expect("the agent waited for a verdict on the tool result");
        let after = step(after.unwrap());
        assert!(matches!(after.kind, StepKind::ToolCall | StepKind::Report), "{after:?}");
        assert_eq!(tools.listed.load(Ordering::SeqCst), 0, "the agent listed the tools although the start had them");
        drop(tx);

        // A start without tools (an older supervisor): the agent lists them.
        let (tx, rx) = mpsc::channel(4);
        let start =
            StartResearch { trajectory_id: "t-2".into(), intent: Some(fixtures::intent("Which kettle?").into()), ..Default::default() };
        tx.send(ResearchRequest { message: Some(research_request::Message::Start(start)), next: None, after_result: None }).await.unwrap();
        let mut steps = client.research(ReceiverStream::new(rx)).await.unwrap().into_inner();
        let plan = steps.message().await.unwrap();
        assert!(!plan.as_ref().unwrap().skips_result_verdicts, "nothing offered, nothing accepted");
        assert_eq!(step(plan).kind, StepKind::Plan);
        assert_eq!(tools.listed.load(Ordering::SeqCst), 1);
        drop(tx);
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        sim.shutdown().await;
    }
}
