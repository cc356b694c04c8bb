//! OTLP over gRPC to an in-process receiver (a tonic TraceService on
//! 127.0.0.1): a small simulated batch, then the structure of what arrived:
//! one trace per trajectory, the span tree of docs/telemetry.md, GenAI
//! attributes, no attribute past the cap, and each span under the resource
//! `service.name` of the service that made it (all five share the process).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{MetricsService, MetricsServiceServer};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch::{histories, pipeline};
use productresearch_llm::EndpointConfig;
use productresearch_runtime::telemetry::{TelemetryConfig, try_init_services};

fn demo(path: &str) -> PathBuf {
    productresearch::local_mesh::demo_data(path)
}

/// Spans, metrics, and each span's resource `service.name` by span id.
#[derive(Clone, Default)]
struct Receiver(
    Arc<Mutex<Vec<Span>>>,
    Arc<Mutex<Vec<opentelemetry_proto::tonic::metrics::v1::Metric>>>,
    Arc<Mutex<HashMap<Vec<u8>, String>>>,
);

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut metrics = self.1.lock().unwrap();
        for rm in request.into_inner().resource_metrics {
            for sm in rm.scope_metrics {
                metrics.extend(sm.metrics);
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        let mut services = self.2.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let attributes = rs.resource.map(|r| r.attributes).unwrap_or_default();
            let service = attributes.iter().find(|a| a.key == "service.name").and_then(|a| a.value.as_ref()).and_then(|v| match &v.value {
                Some(Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            });
            for ss in rs.scope_spans {
                for span in &ss.spans {
                    services.insert(span.span_id.clone(), service.clone().unwrap_or_default());
                }
                spans.extend(ss.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref())
}

fn text<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attr(span, key) {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

const CAP: usize = 256;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_batch_exports_one_trace_per_trajectory_over_otlp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let receiver = Receiver::default();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .add_service(MetricsServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let config = TelemetryConfig { otlp_endpoint: Some(endpoint), content_max_bytes: CAP, ..Default::default() };
    let telemetry = try_init_services("otlp-receiver-test", productresearch::local_mesh::SERVICES, &config).unwrap();

    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let out = tempfile::tempdir().unwrap();
    let settings = MeshSettings::demo(llm, out.path().join("records"), 2);
    let mesh = LocalMesh::start(settings).await.unwrap();
    let (users, _) = histories::read(&demo("histories.jsonl")).unwrap();
    let users: Vec<_> = users.into_iter().take(2).collect();
    let batch =
        pipeline::synthesize(&mesh.endpoints.supervisor, users.clone(), Default::default(), 2, out.path(), |_| {}, |_| {}).await.unwrap();
    assert_eq!(batch.trajectories.len(), 2);
    mesh.stop().await.unwrap();
    sim.shutdown().await;
    // Shutdown flushes to the receiver (the runtime keeps serving it meanwhile).
    tokio::task::spawn_blocking(move || drop(telemetry)).await.unwrap();
    server.abort();

    let spans = receiver.0.lock().unwrap().clone();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let by_id: HashMap<Vec<u8>, &Span> = spans.iter().map(|s| (s.span_id.clone(), s)).collect();
    let parent_name = |s: &Span| by_id.get(&s.parent_span_id).map(|p| p.name.clone()).unwrap_or_default();

    // One trace per trajectory: the record's trace id is the trajectory span's.
    let roots: Vec<&Span> = spans.iter().filter(|s| s.name == "trajectory").collect();
    assert_eq!(roots.len(), 2, "one trajectory span per trajectory");
    let trace_ids: HashSet<String> = roots.iter().map(|s| hex(&s.trace_id)).collect();
    assert_eq!(trace_ids.len(), 2, "each trajectory its own trace");
    for t in &batch.trajectories {
        assert!(trace_ids.contains(&t.trace_id), "record trace id {} is a trajectory trace", t.trace_id);
        let root = roots.iter().find(|r| hex(&r.trace_id) == t.trace_id).unwrap();
        assert_eq!(text(root, "productresearch.trajectory.id"), Some(t.trajectory_id.as_str()));
        assert_eq!(text(root, "productresearch.termination.reason"), Some("approved"));
        assert!(attr(root, "productresearch.budget.tool_calls_used").is_some());
    }
    // Every span of a trajectory's work is in that trajectory's trace.
    for s in spans.iter().filter(|s| s.name.starts_with("round ") || s.name.starts_with("step ") || s.name.starts_with("chat ")) {
        assert!(trace_ids.contains(&hex(&s.trace_id)), "{} outside every trajectory trace", s.name);
    }

    // The tree: trajectory -> invoke_agent user-agent -> chat; round N -> step -> chat / execute_tool / verdict -> chat.
    let names: HashSet<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "invoke_agent user-agent",
        "round 1",
        "step plan",
        "step tool_call",
        "step tool_result",
        "step report",
        "verdict check_plan",
        "verdict check_report",
    ] {
        assert!(names.contains(expected), "no span {expected:?}; have {names:?}");
    }
    for s in &spans {
        match s.name.as_str() {
            n if n.starts_with("step ") => assert!(parent_name(s).starts_with("round "), "{n} under {}", parent_name(s)),
            // Each verdict is a child of the agent's span of the step it judges.
            n if n.starts_with("verdict ") => {
                let judged = match text(s, "productresearch.supervisor.state") {
                    Some("check_plan") => vec!["step plan"],
                    Some("check_toolcall") => vec!["step tool_call", "step tool_result"],
                    Some("check_report") => vec!["step report"],
                    other => panic!("{n} has state {other:?}"),
                };
                assert!(judged.contains(&parent_name(s).as_str()), "{n} under {:?}", parent_name(s));
                let step = by_id[&s.parent_span_id];
                assert_eq!(step.trace_id, s.trace_id, "{n} in its step's trace");
                assert_eq!(text(s, "gen_ai.agent.name"), Some("supervisor"));
                assert_eq!(text(step, "gen_ai.agent.name"), Some("research-agent"));
                assert_eq!(text(s, "productresearch.step.kind"), text(step, "productresearch.step.kind"));
                // The step span stays open until the agent has the verdict.
                assert!(
                    step.start_time_unix_nano <= s.start_time_unix_nano && s.end_time_unix_nano <= step.end_time_unix_nano,
                    "{n} [{}, {}] outside its step [{}, {}]",
                    s.start_time_unix_nano,
                    s.end_time_unix_nano,
                    step.start_time_unix_nano,
                    step.end_time_unix_nano
                );
            }
            n if n.starts_with("execute_tool ") && text(s, "gen_ai.agent.name") == Some("research-agent") => {
                assert_eq!(parent_name(s), "step tool_result");
                assert!(text(s, "gen_ai.tool.name").is_some() && text(s, "gen_ai.tool.call.id").is_some());
            }
            n if n.starts_with("chat ") => {
                let p = parent_name(s);
                assert!(p.starts_with("step ") || p.starts_with("verdict ") || p == "invoke_agent user-agent", "{n} under {p}");
                assert_eq!(text(s, "gen_ai.operation.name"), Some("chat"));
                assert_eq!(text(s, "gen_ai.request.model"), Some("sim-model"));
                assert!(text(s, "gen_ai.response.model").is_some());
                assert!(matches!(attr(s, "gen_ai.usage.input_tokens"), Some(Value::IntValue(n)) if *n > 0));
                assert!(matches!(attr(s, "gen_ai.usage.output_tokens"), Some(Value::IntValue(_))));
                assert!(text(s, "gen_ai.agent.name").is_some(), "{n} has no agent name");
                assert!(text(s, "productresearch.request.sha256").is_some());
                assert!(attr(s, "gen_ai.input.messages").is_none(), "content is opt-in");
            }
            _ => {}
        }
        for a in &s.attributes {
            if let Some(Some(Value::StringValue(v))) = a.value.as_ref().map(|v| v.value.as_ref()) {
                assert!(v.len() <= CAP, "{}.{} is {} bytes", s.name, a.key, v.len());
            }
        }
    }
    // Every step of these approved trajectories was judged exactly once, but
    // tool results: they are recorded without a verdict round trip.
    let steps: Vec<&Span> = spans.iter().filter(|s| s.name.starts_with("step ")).collect();
    for step in &steps {
        let verdicts = spans.iter().filter(|v| v.name.starts_with("verdict ") && v.parent_span_id == step.span_id).count();
        let judged = usize::from(step.name != "step tool_result");
        assert_eq!(verdicts, judged, "{} has {verdicts} verdicts", step.name);
    }
    let results = steps.iter().filter(|s| s.name == "step tool_result").count();
    assert!(results > 0);
    assert_eq!(spans.iter().filter(|s| s.name.starts_with("verdict ")).count(), steps.len() - results);
    // Each step span names the step's place in the record, as the supervisor
    // told the agent: (seq, kind) of the spans are those of the record's steps.
    for t in &batch.trajectories {
        let mut from_spans: Vec<(i64, String)> = steps
            .iter()
            .filter(|s| text(s, "productresearch.trajectory.id") == Some(t.trajectory_id.as_str()))
            .map(|s| match attr(s, "productresearch.step.index") {
                Some(Value::IntValue(i)) => (*i, s.name.clone()),
                other => panic!("{} has step index {other:?}", s.name),
            })
            .collect();
        from_spans.sort();
        let from_record: Vec<(i64, String)> = t
            .steps()
            .iter()
            .map(|(e, s, _)| (e.seq as i64, format!("step {}", serde_json::to_value(s.kind).unwrap().as_str().unwrap())))
            .collect();
        assert_eq!(from_spans, from_record, "{}", t.trajectory_id);
    }

    // Metrics arrive over OTLP too (the last collection at shutdown).
    let metrics = receiver.1.lock().unwrap().clone();
    let metric_names: HashSet<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    for expected in [
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.duration",
        "productresearch.tokens",
        "productresearch.verdicts",
        "productresearch.trajectories.in_flight",
        "productresearch.trajectories",
    ] {
        assert!(metric_names.contains(expected), "no metric {expected}; have {metric_names:?}");
    }
    let agents: HashSet<&str> = spans.iter().filter(|s| s.name.starts_with("chat ")).filter_map(|s| text(s, "gen_ai.agent.name")).collect();
    assert_eq!(agents, HashSet::from(["user-agent", "research-agent", "supervisor"]));
    check_services(&spans, &receiver.2.lock().unwrap());
}

/// Each span's resource names the service that made it, though all five ran
/// in one process; the tags that carried it are gone from the spans.
fn check_services(spans: &[Span], services: &HashMap<Vec<u8>, String>) {
    let mut seen = HashSet::new();
    for s in spans {
        let service = services[&s.span_id].as_str();
        seen.insert(service);
        let agent = text(s, "gen_ai.agent.name");
        let expected = match s.name.as_str() {
            n if n.starts_with("step ") => Some("research-agent"),
            n if n.starts_with("verdict ") || n == "trajectory" => Some("supervisor"),
            "invoke_agent user-agent" => Some("user-agent"),
            "research_agent.session" => Some("research-agent"),
            // The gateway's server side of a call has no agent name; the agent's has its own.
            n if n.starts_with("execute_tool ") => Some(agent.unwrap_or("tool-gateway")),
            n if n.starts_with("chat ") || n.starts_with("round ") => agent,
            // Health checks included: the server's service, not the method's.
            "grpc.server" => match text(s, "productresearch.server.service").and_then(|m| m.split('.').nth(1)) {
                Some("user_agent") => Some("user-agent"),
                Some("research_agent") => Some("research-agent"),
                Some("tool_gateway") => Some("tool-gateway"),
                Some("supervisor") => Some("supervisor"),
                Some("distiller") => Some("distiller"),
                other => panic!("grpc.server {:?} names server {other:?}", text(s, "rpc.method")),
            },
            _ => None,
        };
        if let Some(expected) = expected {
            assert_eq!(service, expected, "{} (agent {agent:?}) exported as {service}", s.name);
        }
        assert!(!s.attributes.iter().any(|a| a.key.starts_with("productresearch.internal")), "{} keeps its service tag", s.name);
    }
    for service in productresearch::local_mesh::SERVICES.iter().filter(|s| **s != "distiller") {
        assert!(seen.contains(service), "no span of {service}; have {seen:?}");
    }
}
