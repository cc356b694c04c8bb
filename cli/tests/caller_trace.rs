//! An external caller's W3C traceparent (as a Python client sends it) is kept:
//! a trajectory synthesized through `Synthesize` is in the caller's trace.

use std::path::PathBuf;

use productresearch::histories;
use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch_llm::EndpointConfig;
use productresearch_proto::supervisor::v1::supervisor_service_client::SupervisorServiceClient;
use productresearch_proto::supervisor::v1::{SynthesizeRequest, synthesize_response};

fn demo(path: &str) -> PathBuf {
    productresearch::local_mesh::demo_data(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_trace_id_is_the_trajectorys() {
    let _telemetry = productresearch_runtime::telemetry::init("caller-trace-test", &Default::default());
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let out = tempfile::tempdir().unwrap();
    let mesh = LocalMesh::start(MeshSettings::demo(llm, out.path().join("records"), 1)).await.unwrap();
    let (users, _) = histories::read(&demo("histories.jsonl")).unwrap();

    // A plain tonic channel: no interceptor of ours, the header is set by hand.
    let channel = tonic::transport::Endpoint::from_shared(mesh.endpoints.supervisor.clone()).unwrap().connect().await.unwrap();
    let mut client = SupervisorServiceClient::new(channel);
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(SynthesizeRequest { history: Some(users[0].clone().into()), caps: None });
    request.metadata_mut().insert("traceparent", format!("00-{caller_trace}-00f067aa0ba902b7-01").parse().unwrap());
    let mut stream = client.synthesize(request).await.unwrap().into_inner();
    let mut trace_id = None;
    while let Some(msg) = stream.message().await.unwrap() {
        if let Some(synthesize_response::Event::Trajectory(t)) = msg.event {
            trace_id = Some(t.trace_id);
        }
    }
    assert_eq!(trace_id.as_deref(), Some(caller_trace));
    mesh.stop().await.unwrap();
    sim.shutdown().await;
}
