//! gRPC edge of the research agent: the bidirectional Research stream.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use productresearch_llm::LlmClient;
use productresearch_proto::common::v1 as pb;
use productresearch_proto::research_agent::v1::research_agent_service_server::ResearchAgentService;
use productresearch_proto::research_agent::v1::{ResearchRequest, ResearchResponse, StartResearch, research_request, research_response};
use productresearch_record::{Intent, TrajectoryEvent, Verdict};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, info_span, warn};

use crate::session::{Failure, Session};
use crate::tools::Tools;

/// Steps buffered towards a slow supervisor; the agent waits for each verdict
/// anyway, so a small bound suffices.
const OUTBOX: usize = 4;

/// The ResearchAgentService implementation.
pub struct Service<T> {
    llm: LlmClient,
    tools: Arc<T>,
    default_max_tool_calls: u32,
}

impl<T: Tools> Service<T> {
    /// A service using `llm` and `tools`.
    pub fn new(llm: LlmClient, tools: Arc<T>, default_max_tool_calls: u32) -> Self {
        Self { llm, tools, default_max_tool_calls }
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<ResearchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<T: Tools> ResearchAgentService for Service<T> {
    type ResearchStream = ResponseStream;

    async fn research(&self, request: Request<Streaming<ResearchRequest>>) -> Result<Response<ResponseStream>, Status> {
        let mut inbound = request.into_inner();
        let first = inbound.message().await?.ok_or_else(|| Status::invalid_argument("stream closed before the start message"))?;
        let Some(research_request::Message::Start(start)) = first.message else {
            return Err(Status::invalid_argument("the first message must be start"));
        };
        let (trajectory_id, intent, transcript, max_tool_calls) = decode_start(start)?;
        let max_tool_calls = if max_tool_calls == 0 { self.default_max_tool_calls } else { max_tool_calls };
        let specs = self.tools.list().await.map_err(|e| Status::unavailable(format!("cannot list tools: {e}")))?;
        let mut session = Session::new(self.llm.clone(), self.tools.clone(), specs, trajectory_id.clone(), &intent, max_tool_calls);
        session.replay(&transcript).map_err(Status::invalid_argument)?;

        let (tx, rx) = mpsc::channel(OUTBOX);
        let span = info_span!("research_agent.session", trajectory.id = %trajectory_id, gen_ai.agent.name = "research-agent", resumed_events = transcript.len());
        productresearch_runtime::context::spawn(drive(session, inbound, tx).instrument(span));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Proposes steps and applies verdicts until the report is approved, the
/// supervisor closes its side, or the supervisor goes away (then the work in
/// progress, model call included, is dropped).
async fn drive<T: Tools>(
    mut session: Session<T>,
    mut inbound: Streaming<ResearchRequest>,
    tx: mpsc::Sender<Result<ResearchResponse, Status>>,
) {
    while !session.done() {
        let next = tokio::select! {
            next = session.next_step() => next,
            _ = tx.closed() => return,
        };
        let step = match next {
            Ok(step) => step,
            Err(failure) => {
                warn!(?failure, "session cannot continue");
                let _ = tx.send(Ok(ResearchResponse { message: Some(research_response::Message::Failure(to_proto(failure))) })).await;
                return;
            }
        };
        if tx.send(Ok(ResearchResponse { message: Some(research_response::Message::Step(step.clone().into())) })).await.is_err() {
            return;
        }
        let verdict = match inbound.message().await {
            Ok(Some(ResearchRequest { message: Some(research_request::Message::Verdict(v)) })) => Verdict::try_from(v),
            Ok(Some(_)) => {
                let _ = tx.send(Err(Status::invalid_argument("expected a verdict"))).await;
                return;
            }
            // The supervisor ended the session (cap reached) or went away.
            Ok(None) | Err(_) => return,
        };
        match verdict {
            Ok(v) => session.apply(&step, &v),
            Err(e) => {
                let _ = tx.send(Err(Status::invalid_argument(format!("invalid verdict: {e}")))).await;
                return;
            }
        }
    }
}

fn decode_start(start: StartResearch) -> Result<(String, Intent, Vec<TrajectoryEvent>, u32), Status> {
    let intent = start.intent.ok_or_else(|| Status::invalid_argument("start.intent is required"))?;
    let intent = Intent::try_from(intent).map_err(|e| Status::invalid_argument(format!("invalid intent: {e}")))?;
    let transcript = start
        .transcript
        .into_iter()
        .map(TrajectoryEvent::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Status::invalid_argument(format!("invalid transcript: {e}")))?;
    Ok((start.trajectory_id, intent, transcript, start.max_tool_calls))
}

fn to_proto(f: Failure) -> pb::Failure {
    match f {
        Failure::Model { detail, transient } => pb::Failure { kind: pb::FailureKind::Model as i32, detail, transient },
        Failure::Tool(detail) => pb::Failure { kind: pb::FailureKind::Tool as i32, detail, transient: true },
    }
}
