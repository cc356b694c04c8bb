//! The supervisor's view of the rest of the mesh: a small trait it owns, with
//! a gRPC implementation ([`GrpcMesh`]), so the state machine is testable
//! without a network.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{Stream, StreamExt};
use productresearch_proto::common::v1 as pb;
use productresearch_proto::research_agent::v1::research_agent_service_client::ResearchAgentServiceClient;
use productresearch_proto::research_agent::v1::{ResearchRequest, StartResearch, StepPosition, research_request, research_response};
use productresearch_proto::tool_gateway::v1::ListToolsRequest;
use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_proto::user_agent::v1::InferIntentRequest;
use productresearch_proto::user_agent::v1::user_agent_service_client::UserAgentServiceClient;
use productresearch_record::{FailureClass, Intent, Step, TerminationReason, TokenUsage, ToolSpec, TrajectoryEvent, UserHistory, Verdict};
use productresearch_runtime::client::MeshChannel;
use productresearch_runtime::failure::{self, FailureKind};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// A failure of another service, classified for the termination record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshError {
    /// Termination it leads to (model, tool or mesh failure).
    pub reason: TerminationReason,
    /// What failed.
    pub detail: String,
    /// True when trying again later may succeed (a restarting service, a
    /// broken connection): the supervisor then resumes the trajectory from its
    /// record instead of ending it.
    pub transient: bool,
    /// A model endpoint refuses every call (wrong key, wrong model name): no
    /// trajectory can progress, so the batch stops with this error and the
    /// records stay resumable.
    pub endpoint_broken: bool,
    /// The kind the failed service named (its `x-failure-kind`, or the kind
    /// of the research agent's failure message); none when it named none (a
    /// peer that could not be reached).
    pub kind: Option<FailureKind>,
}

impl MeshError {
    /// A permanent failure.
    pub fn permanent(reason: TerminationReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into(), transient: false, endpoint_broken: false, kind: None }
    }

    /// A failure that a retry may get past.
    pub fn transient(reason: TerminationReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into(), transient: true, endpoint_broken: false, kind: None }
    }

    /// A model endpoint that refuses every call.
    pub fn endpoint_broken(detail: impl Into<String>) -> Self {
        Self {
            reason: TerminationReason::ModelFailure,
            detail: detail.into(),
            transient: false,
            endpoint_broken: true,
            kind: Some(FailureKind::Endpoint),
        }
    }

    /// The failure as the record classifies it: the kind the service named,
    /// else one that follows from the reason.
    pub fn class(&self) -> FailureClass {
        let kind = self.kind.unwrap_or(match self.reason {
            TerminationReason::ModelFailure => FailureKind::Model,
            TerminationReason::ToolFailure => FailureKind::Tool,
            _ if self.transient => FailureKind::Mesh,
            _ => FailureKind::Protocol,
        });
        FailureClass { kind, transient: self.transient }
    }

    fn from_status(service: &str, s: &tonic::Status) -> Self {
        use tonic::Code;
        let detail = format!("{service}: {} ({:?})", s.message(), s.code());
        // One definition of transient for the whole mesh: a killed or
        // restarting peer (refused or reset connections, streams cut
        // mid-message), a deadline, an overloaded peer.
        let transient = failure::transient_grpc(s);
        let kind = failure::kind_of(s);
        let reason = match kind {
            // Its message names the role and the endpoint already.
            Some(FailureKind::Endpoint) => return Self::endpoint_broken(s.message()),
            Some(kind) => kind.into(),
            None if s.code() == Code::Cancelled => TerminationReason::Cancelled,
            None => TerminationReason::MeshFailure,
        };
        Self { reason, detail, transient, endpoint_broken: false, kind }
    }
}

/// What the user agent returned.
#[derive(Debug, Clone)]
pub struct InferredIntent {
    /// The intent.
    pub intent: Intent,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// Model that inferred it.
    pub model: String,
    /// Prompt templates the user agent used (recorded on the trajectory).
    pub prompts: Vec<productresearch_record::PromptRef>,
}

/// What the research agent sends.
#[allow(clippy::large_enum_variant)] // one per step, moved straight into the record
#[derive(Debug, Clone, PartialEq)]
pub enum AgentMessage {
    /// A proposed step.
    Step(Step),
    /// A proposed step with the W3C `traceparent` of the agent's span for it:
    /// the verdict span on the step becomes that span's child.
    TracedStep {
        /// The step.
        step: Step,
        /// The agent's step span context.
        traceparent: String,
    },
    /// The agent cannot continue.
    Failure(MeshError),
}

/// A step's place in the record: what the agent names its step span after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// The step's sequence number in the record.
    pub seq: u64,
    /// Its report round.
    pub round: u32,
}

/// A verdict on its way to the agent, with where the agent's next step goes.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictMessage {
    /// The verdict on the agent's last step.
    pub verdict: Verdict,
    /// Where the next step goes.
    pub next: Position,
    /// On an approved call whose result gets no verdict: where the step after
    /// the result goes.
    pub after_result: Option<Position>,
}

/// The tools, as the gateway lists them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolList {
    /// The definitions.
    pub specs: Vec<ToolSpec>,
    /// Id of the snapshot the results come from (empty for live tools).
    pub snapshot: String,
}

/// An open research session.
pub struct ResearchLink {
    /// Verdicts to the agent; dropping it closes the session. Boxed: tokio
    /// allocates a channel's slots 32 at a time whatever its bound, ~3.6 KB
    /// per trajectory in flight for the message inline.
    pub verdicts: mpsc::Sender<Box<VerdictMessage>>,
    /// Steps from the agent.
    pub steps: Pin<Box<dyn Stream<Item = Result<AgentMessage, MeshError>> + Send>>,
    /// Set once the agent's messages say it goes on after a tool result
    /// without a verdict (`ResearchResponse.skips_result_verdicts`); until
    /// then, and for an agent older than the field, every step gets one.
    pub agent_skips_result_verdicts: Arc<AtomicBool>,
}

impl ResearchLink {
    /// Whether the agent accepted the offer of no verdicts on tool results.
    pub fn agent_skips_result_verdicts(&self) -> bool {
        self.agent_skips_result_verdicts.load(Ordering::Relaxed)
    }
}

/// How a session starts.
#[derive(Debug, Clone)]
pub struct StartSession {
    /// Trajectory id.
    pub trajectory_id: String,
    /// The intent.
    pub intent: Intent,
    /// Steps and verdicts so far (empty for a new session).
    pub transcript: Vec<TrajectoryEvent>,
    /// Tool calls the agent may make.
    pub max_tool_calls: u32,
    /// Tool results a report needs (the agent is offered the report only then).
    pub min_tool_calls: u32,
    /// The tools the agent offers its model.
    pub tools: Vec<ToolSpec>,
    /// True when no verdict follows a tool result (no result check).
    pub skip_result_verdicts: bool,
    /// Where the agent's first step goes.
    pub next: Position,
}

/// The services the supervisor calls.
pub trait Mesh: Send + Sync + 'static {
    /// Asks the user agent for an intent.
    fn infer_intent(&self, history: &UserHistory) -> impl Future<Output = Result<InferredIntent, MeshError>> + Send;
    /// Opens a research session.
    fn open_research(&self, start: StartSession) -> impl Future<Output = Result<ResearchLink, MeshError>> + Send;
    /// The tools the agent has, with the gateway's snapshot id.
    fn list_tools(&self) -> impl Future<Output = Result<ToolList, MeshError>> + Send;
}

/// [`Mesh`] over gRPC.
#[derive(Clone)]
pub struct GrpcMesh {
    user_agent: UserAgentServiceClient<MeshChannel>,
    research_agent: ResearchAgentServiceClient<MeshChannel>,
    tool_gateway: ToolGatewayServiceClient<MeshChannel>,
}

impl GrpcMesh {
    /// Clients on the given channels.
    pub fn new(user_agent: MeshChannel, research_agent: MeshChannel, tool_gateway: MeshChannel) -> Self {
        Self {
            user_agent: UserAgentServiceClient::new(user_agent),
            research_agent: ResearchAgentServiceClient::new(research_agent),
            tool_gateway: ToolGatewayServiceClient::new(tool_gateway),
        }
    }
}

/// Verdicts buffered towards the agent (it waits for each one anyway).
const VERDICT_BUFFER: usize = 4;

impl Mesh for GrpcMesh {
    async fn infer_intent(&self, history: &UserHistory) -> Result<InferredIntent, MeshError> {
        let request = InferIntentRequest { history: Some(history.clone().into()) };
        let response =
            self.user_agent.clone().infer_intent(request).await.map_err(|s| MeshError::from_status("user-agent", &s))?.into_inner();
        let bad = |detail: String| MeshError::permanent(TerminationReason::MeshFailure, detail);
        let intent = response.intent.ok_or_else(|| bad("user-agent returned no intent".into()))?;
        let intent = Intent::try_from(intent).map_err(|e| bad(format!("user-agent returned an invalid intent: {e}")))?;
        Ok(InferredIntent {
            intent,
            usage: response.usage.map(Into::into).unwrap_or_default(),
            model: response.model,
            prompts: productresearch_record::convert::prompts_from_pb(response.prompts),
        })
    }

    async fn open_research(&self, start: StartSession) -> Result<ResearchLink, MeshError> {
        let (tx, rx) = mpsc::channel::<Box<VerdictMessage>>(VERDICT_BUFFER);
        let next = Some(start.next.into());
        let start = ResearchRequest {
            message: Some(research_request::Message::Start(StartResearch {
                trajectory_id: start.trajectory_id,
                intent: Some(start.intent.into()),
                transcript: start.transcript.into_iter().map(Into::into).collect(),
                max_tool_calls: start.max_tool_calls,
                min_tool_calls: start.min_tool_calls,
                tools: start.tools.into_iter().map(Into::into).collect(),
                skip_result_verdicts: start.skip_result_verdicts,
            })),
            next,
            after_result: None,
        };
        let outbound = futures::stream::once(async move { start }).chain(ReceiverStream::new(rx).map(|m| ResearchRequest {
            message: Some(research_request::Message::Verdict(m.verdict.into())),
            next: Some(m.next.into()),
            after_result: m.after_result.map(Into::into),
        }));
        let inbound =
            self.research_agent.clone().research(outbound).await.map_err(|s| MeshError::from_status("research-agent", &s))?.into_inner();
        let agent_skips = Arc::new(AtomicBool::new(false));
        let accepted = agent_skips.clone();
        let steps = inbound.map(move |item| match item {
            Ok(msg) => match msg.message {
                Some(research_response::Message::Step(s)) => {
                    if msg.skips_result_verdicts {
                        accepted.store(true, Ordering::Relaxed);
                    }
                    Step::try_from(s)
                        .map(|step| match msg.traceparent {
                            t if t.is_empty() => AgentMessage::Step(step),
                            traceparent => AgentMessage::TracedStep { step, traceparent },
                        })
                        .map_err(|e| {
                            MeshError::permanent(TerminationReason::MeshFailure, format!("research-agent sent an invalid step: {e}"))
                        })
                }
                Some(research_response::Message::Failure(f)) => Ok(AgentMessage::Failure(agent_failure(f))),
                None => Err(MeshError::permanent(TerminationReason::MeshFailure, "research-agent sent an empty message")),
            },
            Err(s) => Err(MeshError::from_status("research-agent", &s)),
        });
        Ok(ResearchLink { verdicts: tx, steps: Box::pin(steps), agent_skips_result_verdicts: agent_skips })
    }

    async fn list_tools(&self) -> Result<ToolList, MeshError> {
        let listed = self
            .tool_gateway
            .clone()
            .list_tools(ListToolsRequest {})
            .await
            .map_err(|s| MeshError::from_status("tool-gateway", &s))?
            .into_inner();
        let specs = listed
            .tools
            .into_iter()
            .map(|t| ToolSpec::try_from(t).map_err(|e| MeshError::permanent(TerminationReason::MeshFailure, format!("tool-gateway: {e}"))))
            .collect::<Result<_, _>>()?;
        Ok(ToolList { specs, snapshot: listed.snapshot_id })
    }
}

impl From<Position> for StepPosition {
    fn from(p: Position) -> Self {
        Self { seq: p.seq, round: p.round }
    }
}

fn agent_failure(f: pb::Failure) -> MeshError {
    // An agent that names no kind (or one newer than this supervisor) broke
    // the session: a mesh failure.
    let kind = productresearch_record::convert::failure_kind("failure.kind", f.kind).ok();
    let reason = kind.map_or(TerminationReason::MeshFailure, TerminationReason::from);
    // A broken endpoint's error names its role already.
    let detail = if f.endpoint_broken { f.detail } else { format!("research-agent: {}", f.detail) };
    MeshError { reason, detail, transient: f.transient, endpoint_broken: f.endpoint_broken, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the supervisor records for a failed call to each peer follows
    /// the kind the peer named, whatever the code.
    #[test]
    fn a_peer_status_is_recorded_as_the_kind_it_names() {
        let cases = [
            ("tool-gateway", failure::status(FailureKind::Tool, "task died"), TerminationReason::ToolFailure, FailureKind::Tool, false),
            (
                "user-agent",
                failure::status(FailureKind::Model, "output unusable"),
                TerminationReason::ModelFailure,
                FailureKind::Model,
                false,
            ),
            (
                "user-agent",
                failure::status_of(FailureKind::Model, true, "timed out"),
                TerminationReason::ModelFailure,
                FailureKind::Model,
                true,
            ),
            (
                "research-agent",
                failure::status(FailureKind::Config, "bad prompts"),
                TerminationReason::MeshFailure,
                FailureKind::Config,
                false,
            ),
            ("research-agent", tonic::Status::unavailable("connection refused"), TerminationReason::MeshFailure, FailureKind::Mesh, true),
            ("user-agent", tonic::Status::internal("h2 reset"), TerminationReason::MeshFailure, FailureKind::Mesh, true),
        ];
        for (peer, status, reason, kind, transient) in cases {
            let e = MeshError::from_status(peer, &status);
            assert_eq!((e.reason, e.class()), (reason, FailureClass { kind, transient }), "{peer}: {status:?}");
            assert!(e.detail.starts_with(peer), "{}", e.detail);
        }
        let broken = MeshError::from_status("user-agent", &failure::status(FailureKind::Endpoint, "user-agent model endpoint refuses"));
        assert!(broken.endpoint_broken && !broken.transient, "{broken:?}");
    }

    #[test]
    fn an_agent_failure_message_keeps_its_kind() {
        let f = pb::Failure { kind: pb::FailureKind::Tool as i32, detail: "gateway down".into(), transient: true, endpoint_broken: false };
        let e = agent_failure(f);
        assert_eq!((e.reason, e.class()), (TerminationReason::ToolFailure, FailureClass { kind: FailureKind::Tool, transient: true }));
        let unknown = agent_failure(pb::Failure { kind: 99, detail: "?".into(), transient: false, endpoint_broken: false });
        assert_eq!(unknown.class(), FailureClass { kind: FailureKind::Protocol, transient: false });
    }
}
