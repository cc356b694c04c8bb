//! Starts the real distiller on 127.0.0.1:0 and calls it over gRPC.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use distiller::{Config, SERVICE_NAME};
use productresearch_proto::common::v1 as common_pb;
use productresearch_proto::distiller::v1::distiller_service_client::DistillerServiceClient;
use productresearch_proto::distiller::v1::{DistillRequest, JudgeRequest};
use productresearch_proto::tool_gateway::v1::ToolDefinition;
use productresearch_record::{
    EventBody, Intent, Step, StepKind, SupervisorState, Termination, TerminationReason, TokenUsage, ToolCall, ToolResult, Trajectory,
    Verdict,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), distiller::Error>>,
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(distiller::run(Config::default(), listener, async {
        let _ = stopped.await;
    }));
    Server { addr, stop, task }
}

/// Connects, retrying until the health service reports the distiller SERVING.
async fn ready(addr: SocketAddr) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = async {
            let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.ok()?;
            let status = HealthClient::new(channel.clone())
                .check(HealthCheckRequest { service: SERVICE_NAME.into() })
                .await
                .ok()?
                .into_inner()
                .status;
            (status == ServingStatus::Serving as i32).then_some(channel)
        };
        if let Some(channel) = attempt.await {
            return channel;
        }
        assert!(Instant::now() < deadline, "distiller on {addr} not ready in time");
        tokio::task::yield_now().await;
    }
}

fn trajectory(id: &str, approved: bool) -> Trajectory {
    let mut t = Trajectory::new(id, "user-7");
    let rubric = productresearch_record::fixtures::rubric();
    t.push(
        0,
        EventBody::Intent(Intent {
            persona: "home cook".into(),
            query: "Best blender under $100 for ice?".into(),
            rubric,
            follow_ups: Vec::new(),
        }),
    );
    let usage = TokenUsage::default();
    t.push(0, EventBody::Step(Step::text(StepKind::Plan, "1. find blenders", usage, "m")));
    t.push(0, EventBody::Verdict(Verdict::revise(SupervisorState::CheckPlan, "The supervisor wants a warranty comparison.")));
    t.push(0, EventBody::Step(Step::text(StepKind::Plan, "1. find blenders\n2. compare warranties", usage, "m")));
    t.push(0, EventBody::Verdict(Verdict::approve(SupervisorState::CheckPlan)));
    for (id, name, args, content) in [
        ("c1", "product_search", r#"{"query":"ice blender"}"#, "Ninja BN701 $89"),
        ("c2", "visit_product", r#"{"product_id":"bn701"}"#, "1400 W, 2-year warranty"),
    ] {
        let call = ToolCall { id: id.into(), name: name.into(), arguments: args.into() };
        t.push(0, EventBody::Step(Step::call(call, "", usage, "m")));
        t.push(0, EventBody::Verdict(Verdict::approve(SupervisorState::CheckToolcall)));
        t.push(
            0,
            EventBody::Step(Step::result(ToolResult { call_id: id.into(), name: name.into(), content: content.into(), is_error: false })),
        );
        t.push(0, EventBody::Verdict(Verdict::approve(SupervisorState::CheckToolcall)));
    }
    t.push(1, EventBody::Step(Step::text(StepKind::Report, "Buy the Ninja BN701 ($89, 1400 W, 2-year warranty).", usage, "m")));
    if approved {
        t.push(1, EventBody::Verdict(Verdict::approve(SupervisorState::CheckReport)));
        t.push(1, EventBody::Termination(Termination::new(TerminationReason::Approved, "")));
    } else {
        t.push(1, EventBody::Verdict(Verdict::revise(SupervisorState::CheckReport, "Reviewer: cite sources")));
        t.push(1, EventBody::Termination(Termination::new(TerminationReason::RoundCap, "1 round")));
    }
    t
}

#[tokio::test]
async fn distill_and_judge_over_grpc() {
    let server = start().await;
    let mut client = DistillerServiceClient::new(ready(server.addr).await);

    let request = DistillRequest {
        trajectories: vec![
            common_pb::Trajectory::from(trajectory("kept", true)),
            common_pb::Trajectory::from(trajectory("unapproved", false)),
        ],
        min_assistant_turns: 0,
        min_tool_calls: 0,
        tools: vec![ToolDefinition {
            name: "product_search".into(),
            description: "Search the catalog".into(),
            parameters_json_schema: r#"{"type":"object","properties":{"query":{"type":"string"}}}"#.into(),
        }],
        tool_snapshot: "catalog-index:demo".into(),
    };
    let response = client.distill(request).await.unwrap().into_inner();

    assert_eq!(response.examples.len(), 1);
    assert_eq!(response.examples[0].trajectory_id, "kept");
    let example: serde_json::Value = serde_json::from_str(&response.examples[0].json).unwrap();
    let roles: Vec<&str> = example["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "assistant", "tool", "assistant", "tool", "assistant"]);
    assert_eq!(example["messages"][1]["content"], "Best blender under $100 for ice?");
    assert_eq!(example["messages"][2]["reasoning_content"], "Before I settle on a plan, I keep in mind that I need a warranty comparison.");
    assert_eq!(example["tools"][0]["function"]["name"], "product_search");
    assert_eq!(example["meta"]["rejections_internalized"], 1);
    assert!(!response.examples[0].json.to_lowercase().contains("supervisor"));

    assert_eq!(response.drops.len(), 1);
    assert_eq!(response.drops[0].trajectory_id, "unapproved");
    assert_eq!(response.drops[0].filter, "approved");
    assert!(response.drops[0].reason.contains("round_cap"), "{}", response.drops[0].reason);

    assert_eq!(example["meta"]["tool_snapshot"], "catalog-index:demo");
    assert_eq!(response.drops[0].passed, ["structure: ok", "no_query: ok"]);

    // Without a judge model there is no score, never a made-up one.
    let status = client.judge(JudgeRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(status.message().contains("no judge model configured"), "{}", status.message());

    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_undecodable_trajectory_is_a_structure_drop_and_a_bad_tool_schema_is_invalid() {
    let server = start().await;
    let mut client = DistillerServiceClient::new(ready(server.addr).await);

    let mut broken = common_pb::Trajectory::from(trajectory("broken", true));
    if let Some(common_pb::trajectory_event::Event::Step(s)) = broken.events[1].event.as_mut() {
        s.kind = 0;
    }
    let response = client.distill(DistillRequest { trajectories: vec![broken], ..Default::default() }).await.unwrap().into_inner();
    assert!(response.examples.is_empty());
    assert_eq!(response.drops.len(), 1);
    assert_eq!((response.drops[0].trajectory_id.as_str(), response.drops[0].filter.as_str()), ("broken", "structure"));
    assert!(response.drops[0].reason.contains("step.kind"), "{}", response.drops[0].reason);

    let bad_tools = DistillRequest {
        tools: vec![ToolDefinition { name: "web_search".into(), description: String::new(), parameters_json_schema: "{not json".into() }],
        ..Default::default()
    };
    let status = client.distill(bad_tools).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("web_search"), "{}", status.message());

    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn judge_scores_with_the_configured_model_over_grpc() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let config = Config { judge: Some(productresearch_llm::EndpointConfig::new(sim.base_url(), "judge-model")), ..Config::default() };
    let task = tokio::spawn(distiller::run(config, listener, async {
        let _ = stopped.await;
    }));
    let mut client = DistillerServiceClient::new(ready(addr).await);
    let rubric = productresearch_record::fixtures::rubric();
    let criterion = rubric.dimensions[0].criteria[0].criterion.clone();
    let request = JudgeRequest {
        query: "Which blender under $100 crushes ice best?".into(),
        rubric: Some(rubric.into()),
        target_report: format!("A long report that addresses {criterion} in detail, with prices and sources. ").repeat(20),
        reference_report: "Buy a blender.".into(),
    };
    let r = client.judge(request).await.unwrap().into_inner();
    assert_eq!(r.dimensions.len(), 4);
    assert!(r.overall > 0.5 && r.overall < 1.0, "{}", r.overall);
    assert!((r.overall - r.target / (r.target + r.reference)).abs() < 1e-9);
    assert_eq!((r.attempts, r.fallback_criteria, r.model.as_str()), (1, 0, "judge-model"));
    assert!(r.usage.unwrap().completion_tokens > 0);
    // A request without a rubric is the caller's mistake.
    let status =
        client.judge(JudgeRequest { target_report: "a".into(), reference_report: "b".into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    sim.shutdown().await;
}
