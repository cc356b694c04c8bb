//! The one error → status policy (`productresearch_runtime::failure`) as a
//! client sees it: each service, started for real on 127.0.0.1, answers a
//! representative bad call with the policy's code and the failure kind in
//! `x-failure-kind`; and the supervisor records the kind a peer names.

use productresearch::local_mesh::{DistillerModels, LocalMesh, MeshSettings, PromptSettings};
use productresearch::{histories, pipeline};
use productresearch_llm::EndpointConfig;
use productresearch_proto::common::v1 as pb;
use productresearch_proto::distiller::v1::JudgeRequest;
use productresearch_proto::distiller::v1::distiller_service_client::DistillerServiceClient;
use productresearch_proto::research_agent::v1::research_agent_service_client::ResearchAgentServiceClient;
use productresearch_proto::research_agent::v1::{ResearchRequest, StartResearch, research_request};
use productresearch_proto::supervisor::v1::SynthesizeRequest;
use productresearch_proto::supervisor::v1::supervisor_service_client::SupervisorServiceClient;
use productresearch_proto::user_agent::v1::InferIntentRequest;
use productresearch_proto::user_agent::v1::user_agent_service_client::UserAgentServiceClient;
use productresearch_record::{FailureClass, FailureKind, TerminationReason, fixtures};
use productresearch_runtime::client::ClientConfig;
use productresearch_runtime::failure::{self, FAILURE_KIND_KEY};
use productresearch_sim_llm::{FaultKind, FaultRule, SimConfig, Trigger};
use tonic::Code;

/// The code and the `x-failure-kind` a failed call came back with.
fn seen(s: &tonic::Status) -> (Code, Option<&str>) {
    (s.code(), s.metadata().get(FAILURE_KIND_KEY).and_then(|v| v.to_str().ok()))
}

/// What the policy says a permanent failure of `kind` is answered with.
fn policy(kind: FailureKind) -> (Code, Option<&'static str>) {
    (failure::code(kind, false), Some(kind.as_str()))
}

fn research_request(message: research_request::Message) -> ResearchRequest {
    ResearchRequest { message: Some(message), next: None, after_result: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_answers_a_bad_call_with_the_policy_code_and_its_kind() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let out = tempfile::tempdir().unwrap();
    let settings = MeshSettings::demo(llm.clone(), out.path().join("records"), 1);
    // No judge model: the distiller's Judge is then a configuration failure.
    let no_judge = DistillerModels { reflection: None, judge: None };
    let mesh = LocalMesh::start_with_models(settings, Default::default(), PromptSettings::default(), no_judge).await.unwrap();
    let e = &mesh.endpoints;

    let mut user_agent = UserAgentServiceClient::connect(e.user_agent.clone()).await.unwrap();
    let s = user_agent.infer_intent(InferIntentRequest { history: None }).await.unwrap_err();
    assert_eq!(seen(&s), policy(FailureKind::InvalidInput), "user-agent: {s:?}");

    // A session that opens with a verdict breaks the research protocol.
    let mut agent = ResearchAgentServiceClient::connect(e.research_agent.clone()).await.unwrap();
    let opening = research_request(research_request::Message::Verdict(pb::Verdict::default()));
    let s = agent.research(tokio_stream::iter([opening])).await.unwrap_err();
    assert_eq!(seen(&s), policy(FailureKind::Protocol), "research-agent: {s:?}");

    let mut supervisor = SupervisorServiceClient::connect(e.supervisor.clone()).await.unwrap();
    let s = supervisor.synthesize(SynthesizeRequest { history: None, caps: None }).await.unwrap_err();
    assert_eq!(seen(&s), policy(FailureKind::InvalidInput), "supervisor: {s:?}");

    let mut distiller = DistillerServiceClient::connect(e.distiller.clone()).await.unwrap();
    let judge = JudgeRequest {
        query: "q".into(),
        rubric: Some(fixtures::rubric().into()),
        target_report: "a".into(),
        reference_report: "b".into(),
    };
    let s = distiller.judge(judge).await.unwrap_err();
    assert_eq!(seen(&s), policy(FailureKind::Config), "distiller: {s:?}");
    assert_eq!(s.code(), Code::FailedPrecondition);
    mesh.stop().await.unwrap();

    // A research agent whose tool gateway is down: a transient tool failure,
    // UNAVAILABLE (worth a retry) and still named a tool failure.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = research_agent::Config {
        llm,
        tool_gateway: ClientConfig::single(format!("http://{}", dead.local_addr().unwrap())),
        ..Default::default()
    };
    drop(dead);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(research_agent::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let mut agent = ResearchAgentServiceClient::connect(url).await.unwrap();
    let start = StartResearch {
        trajectory_id: "t-tools-down".into(),
        intent: Some(fixtures::intent("a quiet dishwasher").into()),
        ..Default::default()
    };
    let s = agent.research(tokio_stream::iter([research_request(research_request::Message::Start(start))])).await.unwrap_err();
    assert_eq!(seen(&s), (Code::Unavailable, Some("tool")), "research-agent without its gateway: {s:?}");
    assert!(failure::transient_grpc(&s));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_records_the_kind_the_user_agent_names() {
    // Every answer of the user agent's model is garbled: its output stays
    // unusable after the re-asks, a permanent model failure.
    let garbled =
        SimConfig { faults: vec![FaultRule { trigger: Trigger::FirstN(u64::MAX), kind: FaultKind::GarbledContent }], ..Default::default() };
    let broken = productresearch_sim_llm::spawn_local(garbled).await.unwrap();
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut settings = MeshSettings::demo(EndpointConfig::new(sim.base_url(), "sim-model"), out.path().join("records"), 1);
    settings.user_agent_llm = EndpointConfig::new(broken.base_url(), "sim-model");
    let mesh = LocalMesh::start(settings).await.unwrap();
    let (users, _) = histories::read(&productresearch::local_mesh::demo_data("histories.jsonl")).unwrap();
    let users = users.into_iter().take(1).collect();
    let batch = pipeline::synthesize(&mesh.endpoints.supervisor, users, Default::default(), 1, out.path(), |_| {}, |_| {}).await.unwrap();
    let end = batch.trajectories[0].termination().unwrap();
    assert_eq!(end.reason, TerminationReason::ModelFailure, "{end:?}");
    assert_eq!(end.failure, Some(FailureClass { kind: FailureKind::Model, transient: false }), "{end:?}");
    assert!(end.detail.starts_with("user-agent: "), "{end:?}");
    mesh.stop().await.unwrap();
    sim.shutdown().await;
    broken.shutdown().await;
}
