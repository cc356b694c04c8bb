//! Trace context and deadlines cross a real gRPC hop built with this crate's
//! server and client builders; health and reflection are mounted.

use std::time::{Duration, Instant};

use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_proto::tool_gateway::v1::tool_gateway_service_server::{ToolGatewayService, ToolGatewayServiceServer};
use productresearch_proto::tool_gateway::v1::{CallToolRequest, CallToolResponse, ListToolsRequest, ListToolsResponse};
use productresearch_runtime::client::{ClientConfig, channel};
use productresearch_runtime::server::{ServerConfig, serve};
use productresearch_runtime::{context, telemetry};
use tonic::{Request, Response, Status};
use tracing::Instrument;

/// Answers with what the handler sees of the caller's context.
struct Echo;

#[tonic::async_trait]
impl ToolGatewayService for Echo {
    async fn list_tools(&self, _: Request<ListToolsRequest>) -> Result<Response<ListToolsResponse>, Status> {
        Ok(Response::new(ListToolsResponse { tools: vec![], snapshot_id: String::new() }))
    }

    async fn call_tool(&self, req: Request<CallToolRequest>) -> Result<Response<CallToolResponse>, Status> {
        if req.get_ref().name == "sleep" {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let seen = serde_json::json!({
            "trace_id": telemetry::current_trace_id(),
            "remaining_ms": context::remaining().map(|d| d.as_millis() as u64),
        });
        Ok(Response::new(CallToolResponse { content: seen.to_string(), is_error: false, error_kind: 0 }))
    }
}

/// Telemetry for the whole test binary: tests run in parallel, and one
/// test's guard shutting the tracer down must not end another's spans.
fn tracing_on() {
    static GUARD: std::sync::OnceLock<telemetry::TelemetryGuard> = std::sync::OnceLock::new();
    GUARD.get_or_init(|| telemetry::init("propagation-test", &Default::default()));
}

async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let routes = tonic::service::Routes::new(ToolGatewayServiceServer::new(Echo));
    tokio::spawn(async move {
        serve(listener, routes, &["productresearch.tool_gateway.v1.ToolGatewayService"], &ServerConfig::default(), async {
            let _ = rx.await;
        })
        .await
        .unwrap()
    });
    (url, tx)
}

/// The server's two endpoints: over loopback TCP, and in process (the same
/// stack without a socket; see `productresearch_runtime::in_process`).
fn transports(url: &str) -> [String; 2] {
    [url.to_string(), url.replacen("http://", productresearch_runtime::in_process::SCHEME, 1)]
}

#[tokio::test]
async fn trace_id_and_deadline_reach_the_callee() {
    tracing_on();
    let (url, _stop) = start().await;
    for url in transports(&url) {
        trace_id_and_deadline_reach_the_callee_at(&url).await;
    }
}

async fn trace_id_and_deadline_reach_the_callee_at(url: &str) {
    let client = ToolGatewayServiceClient::new(channel("echo", &ClientConfig::single(url)).unwrap());
    let span = tracing::info_span!("caller");
    let (caller_trace, seen) = async {
        let caller_trace = telemetry::current_trace_id().expect("caller span has a trace");
        let deadline = Instant::now() + Duration::from_secs(30);
        let seen = context::with_deadline(Some(deadline), async {
            let mut c = client.clone();
            // Retry until the server accepts connections: it was spawned just now.
            loop {
                match c.call_tool(CallToolRequest { name: "echo".into(), ..Default::default() }).await {
                    Ok(r) => break r.into_inner().content,
                    Err(s) if s.code() == tonic::Code::Unavailable => tokio::task::yield_now().await,
                    Err(s) => panic!("{s}"),
                }
            }
        })
        .await;
        (caller_trace, seen)
    }
    .instrument(span)
    .await;
    let seen: serde_json::Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(seen["trace_id"].as_str(), Some(caller_trace.as_str()), "{url}: callee runs in the caller's trace");
    let remaining = seen["remaining_ms"].as_u64().expect("callee knows the caller's deadline");
    assert!(remaining > 20_000 && remaining <= 30_000, "{url}: remaining {remaining} ms");
}

#[tokio::test]
async fn the_callers_deadline_stops_a_slow_callee() {
    let (url, _stop) = start().await;
    for url in transports(&url) {
        the_callers_deadline_stops_a_slow_callee_at(&url).await;
    }
}

async fn the_callers_deadline_stops_a_slow_callee_at(url: &str) {
    let mut client = ToolGatewayServiceClient::new(channel("echo", &ClientConfig::single(url)).unwrap());
    // Wait for readiness with an unbounded call first.
    while client.list_tools(ListToolsRequest {}).await.is_err() {
        tokio::task::yield_now().await;
    }
    let started = Instant::now();
    let status = context::with_deadline(Some(Instant::now() + Duration::from_millis(300)), async {
        client.call_tool(CallToolRequest { name: "sleep".into(), ..Default::default() }).await.unwrap_err()
    })
    .await;
    // tonic's client enforces the same grpc-timeout it sends and reports its own
    // expiry as CANCELLED "Timeout expired"; the server would answer DEADLINE_EXCEEDED.
    assert!(matches!(status.code(), tonic::Code::DeadlineExceeded | tonic::Code::Cancelled), "{url}: {status}");
    assert!(status.message().to_lowercase().contains("timeout") || status.code() == tonic::Code::DeadlineExceeded, "{url}: {status}");
    assert!(started.elapsed() < Duration::from_secs(2), "{url}");
}

#[tokio::test]
async fn health_and_reflection_are_mounted() {
    let (url, _stop) = start().await;
    for url in transports(&url) {
        health_and_reflection_are_mounted_at(&url).await;
    }
}

/// Health (unary) and reflection (a bidirectional stream) at `url`.
async fn health_and_reflection_are_mounted_at(url: &str) {
    let ch = channel("echo", &ClientConfig::single(url)).unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    let status = loop {
        match health
            .check(tonic_health::pb::HealthCheckRequest { service: "productresearch.tool_gateway.v1.ToolGatewayService".into() })
            .await
        {
            Ok(r) => break r.into_inner().status,
            Err(_) => tokio::task::yield_now().await,
        }
    };
    assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(ch.clone());
    let req = ServerReflectionRequest { host: String::new(), message_request: Some(MessageRequest::ListServices(String::new())) };
    let mut stream = reflection.server_reflection_info(futures::stream::iter(vec![req])).await.unwrap().into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = stream.message().await.unwrap().unwrap().message_response else {
        panic!("no list")
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    // Only what this server answers: not the other four services of the mesh.
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "productresearch.tool_gateway.v1.ToolGatewayService"
        ]
    );
    let mut v1alpha = tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient::new(ch);
    let req = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
            "productresearch.supervisor.v1.SupervisorService".into(),
        )),
    };
    let mut stream = v1alpha.server_reflection_info(futures::stream::iter(vec![req])).await.unwrap().into_inner();
    let resp = stream.message().await.unwrap().unwrap();
    assert!(matches!(
        resp.message_response,
        Some(tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));
}

/// In process, a stopped server answers UNAVAILABLE, as a closed port does,
/// and one started again on the same address is found.
#[tokio::test]
async fn an_in_process_server_that_stopped_is_unavailable() {
    let (url, stop) = start().await;
    let [_, in_process] = transports(&url);
    let mut client = ToolGatewayServiceClient::new(channel("echo", &ClientConfig::single(&in_process)).unwrap());
    // The server registers when it starts serving, just after the spawn.
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.list_tools(ListToolsRequest {}).await.is_err() {
        assert!(Instant::now() < deadline, "the in-process server never answered");
        tokio::task::yield_now().await;
    }
    stop.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match client.list_tools(ListToolsRequest {}).await {
            Ok(_) => {
                assert!(Instant::now() < deadline, "the stopped server still answers in process");
                tokio::task::yield_now().await;
            }
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
    assert!(status.message().contains(&in_process), "{status}");
}

#[test]
fn an_in_process_endpoint_takes_no_tls_and_stands_alone() {
    let alone = ClientConfig { endpoints: vec!["in-process://127.0.0.1:1".into(), "http://127.0.0.1:2".into()], ..Default::default() };
    let err = channel("echo", &alone).unwrap_err().to_string();
    assert!(err.contains("must be the only one"), "{err}");
    let resolving = ClientConfig { dns_refresh_secs: 5, ..ClientConfig::single("in-process://127.0.0.1:1") };
    let err = channel("echo", &resolving).unwrap_err().to_string();
    assert!(err.contains("dns_refresh_secs = 0"), "{err}");
}

/// A method of another service reached this server: UNIMPLEMENTED, with a
/// message naming the method and what this server serves.
#[tokio::test]
async fn an_unknown_method_names_the_service_it_reached() {
    let (url, _stop) = start().await;
    use productresearch_proto::distiller::v1::JudgeRequest;
    use productresearch_proto::distiller::v1::distiller_service_client::DistillerServiceClient;
    let ch = tonic::transport::Endpoint::from_shared(url).unwrap().connect_lazy();
    let mut distiller = DistillerServiceClient::new(ch);
    let status = loop {
        match distiller.judge(JudgeRequest::default()).await {
            Err(status) if status.code() == tonic::Code::Unavailable => tokio::task::yield_now().await,
            other => break other.unwrap_err(),
        }
    };
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status}");
    assert_eq!(
        status.message(),
        "unknown method /productresearch.distiller.v1.DistillerService/Judge: this server serves \
         productresearch.tool_gateway.v1.ToolGatewayService (and grpc health and reflection)"
    );
}

#[tokio::test]
async fn a_traceparent_in_a_message_parents_a_span_in_another_task() {
    tracing_on();
    let step = tracing::info_span!("step");
    let carried = telemetry::traceparent(&step).expect("an active span has a traceparent");
    let step_trace = step.in_scope(telemetry::current_trace_id).unwrap();
    assert!(carried.contains(&step_trace), "{carried} names the trace {step_trace}");

    // The receiving side starts from an unrelated span, as the supervisor's
    // verdict span starts under its own round span.
    let verdict = tracing::info_span!(parent: None, "verdict");
    assert!(telemetry::set_parent_from_traceparent(&verdict, &carried));
    assert_eq!(verdict.in_scope(telemetry::current_trace_id), Some(step_trace));

    let other = tracing::info_span!(parent: None, "other");
    assert!(!telemetry::set_parent_from_traceparent(&other, ""));
    assert!(!telemetry::set_parent_from_traceparent(&other, "not-a-traceparent"));
    assert_ne!(other.in_scope(telemetry::current_trace_id), verdict.in_scope(telemetry::current_trace_id));
}
