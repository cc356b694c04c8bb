//! Long outages: each service binary SIGKILLed mid-batch and kept down for a
//! minute, the model endpoint gone for two — longer than any retry window —
//! and every trajectory must still end approved, exactly once, from the one
//! batch call (the batch resumes its trajectories itself); and a sweep of
//! caller deadlines from 0.1 ms to 10 s must never leave a record ended as a
//! failure. The outages run at once, each on its own mesh on free ports, so
//! the whole takes the longest outage plus its recovery (a test binary runs
//! only as many test functions at once as the machine has cores).

mod chaos_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chaos_support::{ProcMesh, assert_all_approved_once, binaries, histories};
use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch::pipeline::{self, Reconnect};
use productresearch_llm::EndpointConfig;
use productresearch_proto::supervisor::v1::supervisor_service_client::SupervisorServiceClient;
use productresearch_proto::supervisor::v1::{SynthesizeRequest, synthesize_response};
use productresearch_record::{EventBody, TrajectoryEvent};
use productresearch_runtime::client::{ClientConfig, channel};
use productresearch_sim_llm::SimConfig;

/// How long a service stays down: well past the old ~24 s retry window.
const SERVICE_OUTAGE: Duration = Duration::from_secs(60);
/// How long the model endpoint stays down.
const MODEL_OUTAGE: Duration = Duration::from_secs(120);
const TRAJECTORIES: usize = 6;

/// Slow enough that the outage lands mid-trajectory.
fn sim_config() -> SimConfig {
    SimConfig { latency_ms: 150, ..Default::default() }
}

/// The last event of every log in `records` that ends with a termination, as
/// (file, event).
fn terminations(records: &std::path::Path) -> Vec<(String, TrajectoryEvent)> {
    let Ok(dir) = std::fs::read_dir(records) else { return Vec::new() };
    dir.filter_map(|f| {
        let path = f.ok()?.path();
        let text = std::fs::read_to_string(&path).ok()?;
        let last: TrajectoryEvent = serde_json::from_str(text.lines().last()?).ok()?;
        matches!(last.body, EventBody::Termination(_)).then(|| (path.display().to_string(), last))
    })
    .collect()
}

/// One service SIGKILLed a second into a batch, kept down for
/// [`SERVICE_OUTAGE`], then restarted on the same port.
async fn service_down_for_a_minute(victim: &'static str) {
    let bin = binaries();
    let sim = productresearch_sim_llm::spawn_local(sim_config()).await.unwrap();
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let mut mesh = ProcMesh::start(&bin, &llm, dir).await;
    let out = dir.join("out");
    let batch = {
        let (url, out) = (mesh.url("supervisor"), out.clone());
        let histories = histories(victim, TRAJECTORIES);
        tokio::spawn(async move {
            pipeline::synthesize_with(&url, histories, Default::default(), TRAJECTORIES, &out, Reconnect::default(), |_| {}, |_| {}).await
        })
    };
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(!batch.is_finished(), "the batch ended before the outage");
    mesh.service(victim).kill().await;
    eprintln!("outage: {:>5.1}s SIGKILLed {victim}", started.elapsed().as_secs_f64());
    tokio::time::sleep(SERVICE_OUTAGE).await;
    mesh.service(victim).start(&bin).await;
    eprintln!("outage: {:>5.1}s {victim} serving again", started.elapsed().as_secs_f64());
    let outcome = tokio::time::timeout(Duration::from_secs(120), batch).await.expect("batch finishes").unwrap().unwrap();
    eprintln!("outage: {:>5.1}s batch done ({victim})", started.elapsed().as_secs_f64());
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_all_approved_once(&outcome.trajectories, TRAJECTORIES, &dir.join("records"), &out);
    mesh.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_long_outage_is_ridden_out_by_the_running_batch() {
    // Built once before the meshes start, not by each of them.
    binaries();
    let mut outages = tokio::task::JoinSet::new();
    for victim in ["tool-gateway", "user-agent", "research-agent", "supervisor"] {
        outages.spawn(async move { (victim, service_down_for_a_minute(victim).await) });
    }
    outages.spawn(async { ("model endpoint", model_endpoint_down_for_two_minutes().await) });
    let mut failed = Vec::new();
    while let Some(done) = outages.join_next().await {
        match done {
            Ok((_, ())) => {}
            Err(e) => failed.push(e.to_string()),
        }
    }
    assert!(failed.is_empty(), "{} outage(s) not ridden out: {failed:?}", failed.len());
}

/// The model endpoint gone for two minutes (the server dropped, its port
/// rebound after): every role's calls fail all that time, and the batch
/// resumes every trajectory once it is back.
async fn model_endpoint_down_for_two_minutes() {
    let bin = binaries();
    let sim = productresearch_sim_llm::spawn_local(sim_config()).await.unwrap();
    let addr: SocketAddr = sim.addr();
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let mut mesh = ProcMesh::start(&bin, &llm, dir).await;
    let out = dir.join("out");
    let batch = {
        let (url, out) = (mesh.url("supervisor"), out.clone());
        tokio::spawn(async move {
            let histories = histories("model-down", TRAJECTORIES);
            pipeline::synthesize_with(&url, histories, Default::default(), TRAJECTORIES, &out, Reconnect::default(), |_| {}, |_| {}).await
        })
    };
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(!batch.is_finished(), "the batch ended before the outage");
    sim.shutdown().await;
    eprintln!("outage: {:>5.1}s model endpoint down", started.elapsed().as_secs_f64());
    tokio::time::sleep(MODEL_OUTAGE).await;
    let sim = productresearch_sim_llm::spawn(sim_config(), productresearch_sim_llm::listen(addr).unwrap()).await.unwrap();
    eprintln!("outage: {:>5.1}s model endpoint back", started.elapsed().as_secs_f64());
    let outcome = tokio::time::timeout(Duration::from_secs(120), batch).await.expect("batch finishes").unwrap().unwrap();
    eprintln!("outage: {:>5.1}s batch done (model)", started.elapsed().as_secs_f64());
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_all_approved_once(&outcome.trajectories, TRAJECTORIES, &dir.join("records"), &out);
    mesh.stop().await;
    sim.shutdown().await;
}

/// Synthesize with caller deadlines from 0.1 ms to 10 s, the same histories
/// each time: a deadline stops the call, never the trajectory. No record ever
/// ends as a failure, and a last call without a deadline finishes every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_caller_deadline_ends_a_record_as_a_failure() {
    let sim = productresearch_sim_llm::spawn_local(SimConfig { latency_ms: 20, ..Default::default() }).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let records = work.path().join("records");
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let mesh = LocalMesh::start(MeshSettings::demo(llm, records.clone(), 4)).await.unwrap();
    let client = SupervisorServiceClient::new(channel("supervisor", &ClientConfig::single(&mesh.endpoints.supervisor)).unwrap())
        .max_decoding_message_size(usize::MAX);
    let histories = histories("deadline", 4);
    let call = |history: productresearch_record::UserHistory, deadline: Option<Duration>| {
        let mut client = client.clone();
        async move {
            let mut request = tonic::Request::new(SynthesizeRequest { history: Some(history.into()), caps: None });
            if let Some(d) = deadline {
                request.set_timeout(d);
            }
            let mut stream = match client.synthesize(request).await {
                Ok(s) => s.into_inner(),
                Err(_) => return None,
            };
            while let Ok(Some(msg)) = stream.message().await {
                if let Some(synthesize_response::Event::Trajectory(t)) = msg.event {
                    return Some(productresearch_record::Trajectory::try_from(t).unwrap());
                }
            }
            None
        }
    };
    let micros = [100, 200, 500, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000];
    for us in micros {
        let deadline = Duration::from_micros(us);
        let calls: Vec<_> = histories.iter().cloned().map(|h| call(h, Some(deadline))).collect();
        for t in futures::future::join_all(calls).await.into_iter().flatten() {
            let end = t.termination().unwrap();
            assert!(end.failure.is_none(), "{us}µs: {} returned {end:?}", t.trajectory_id);
        }
        // Let trajectories the deadline cut short settle into their logs.
        tokio::time::sleep(Duration::from_millis(50)).await;
        for (file, last) in terminations(&records) {
            let EventBody::Termination(end) = &last.body else { unreachable!() };
            assert!(end.failure.is_none(), "{us}µs: {file} ended as a failure: {end:?}");
        }
    }
    for h in &histories {
        let t = call(h.clone(), None).await.expect("a call without a deadline returns its trajectory");
        assert!(t.approved(), "{}: {:?}", t.trajectory_id, t.termination());
    }
    mesh.stop().await.unwrap();
    sim.shutdown().await;
}
