//! A broken model endpoint on the real mesh (services on loopback, the
//! simulated model): one role configured with a wrong API key (401 on every
//! call) or a model name the endpoint does not serve (404), in turn the user
//! agent's, the research agent's and the supervisor's. The batch stops at once with one error
//! naming the role and the endpoint, having sent about one refused request per
//! trajectory in flight — not every trajectory failed one by one, each through
//! its retries — and leaves the records resumable: the same batch with the
//! name fixed finishes every trajectory, approved, exactly once.

mod chaos_support;

use std::time::{Duration, Instant};

use chaos_support::{assert_all_approved_once, histories};
use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch::pipeline;
use productresearch_llm::EndpointConfig;
use productresearch_record::{EventBody, Trajectory};
use productresearch_sim_llm::SimConfig;

const TRAJECTORIES: usize = 8;
const CONCURRENCY: usize = 4;
/// Environment variables holding the key the simulated endpoint takes and a wrong one.
const RIGHT_KEY: &str = "BROKEN_ENDPOINT_RIGHT_KEY";
const WRONG_KEY: &str = "BROKEN_ENDPOINT_WRONG_KEY";

/// How a role's endpoint is misconfigured.
#[derive(Debug, Clone, Copy)]
enum Wrong {
    /// 401 on every call.
    Key,
    /// 404 on every call (the supervisor's model name is part of the
    /// trajectory id, so a changed one could not resume; its key can).
    ModelName,
}

/// The trajectory logs in `records`, each as its events.
fn logs(records: &std::path::Path) -> Vec<Trajectory> {
    let Ok(dir) = std::fs::read_dir(records) else { return Vec::new() };
    dir.map(|f| {
        let path = f.unwrap().path();
        let mut t = Trajectory::new(path.file_stem().unwrap().to_string_lossy(), "");
        let text = std::fs::read_to_string(&path).unwrap();
        t.events = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        t
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_on_a_broken_endpoint_stops_the_batch_and_a_fixed_rerun_finishes_it() {
    // SAFETY: variables only this test reads, set before any service starts.
    unsafe {
        std::env::set_var(RIGHT_KEY, "right-key");
        std::env::set_var(WRONG_KEY, "wrong-key");
    }
    for (role, wrong) in [("user-agent", Wrong::Key), ("research-agent", Wrong::ModelName), ("supervisor", Wrong::Key)] {
        broken_endpoint(role, wrong).await;
    }
}

/// The scenario with `role`'s endpoint configured `wrong`.
async fn broken_endpoint(role: &str, wrong: Wrong) {
    let sim = productresearch_sim_llm::spawn_local(SimConfig {
        strict_model: true,
        api_key: Some("right-key".into()),
        latency_ms: 20,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let records = work.path().join("records");
    // Retries as a long batch would have them: without the breaker each
    // trajectory would try its step this often before failing.
    let llm = EndpointConfig { max_retries: 4, api_key_env: Some(RIGHT_KEY.into()), ..EndpointConfig::new(sim.base_url(), "sim-model") };
    let settings = MeshSettings::demo(llm.clone(), records.clone(), CONCURRENCY);
    let mut broken = settings.clone();
    let (misconfigured, status, says) = match wrong {
        Wrong::Key => (EndpointConfig { api_key_env: Some(WRONG_KEY.into()), ..llm }, 401, "incorrect api key"),
        Wrong::ModelName => (EndpointConfig { model: "no-such-model".into(), ..llm }, 404, "no-such-model"),
    };
    match role {
        "user-agent" => broken.user_agent_llm = misconfigured,
        "research-agent" => broken.research_agent_llm = misconfigured,
        _ => broken.supervisor_llm = misconfigured,
    }
    let batch = histories(role, TRAJECTORIES);

    let mesh = LocalMesh::start(broken).await.unwrap();
    let started = Instant::now();
    let out = work.path().join("out-broken");
    let stopped = pipeline::synthesize(&mesh.endpoints.supervisor, batch.clone(), Default::default(), CONCURRENCY, &out, |_| {}, |_| {})
        .await
        .expect_err("a batch on a broken endpoint cannot succeed");
    let took = started.elapsed();
    mesh.stop().await.unwrap();

    // One error, naming the role, the endpoint and what it answered.
    let message = format!("{stopped:#}");
    let endpoint = format!("{}/chat/completions", sim.base_url());
    assert!(
        message.starts_with(&format!("batch stopped: {role} model endpoint {endpoint} refuses every call (last {status}")),
        "{message}"
    );
    assert!(message.contains(says), "{message}");
    // At most one refused request per trajectory in flight when the breaker
    // opened; every trajectory burnt through its retries would take
    // TRAJECTORIES × 5.
    assert!(sim.refused() >= 1 && sim.refused() <= CONCURRENCY as u64, "{} refused requests", sim.refused());
    // Seconds, on a generous bound (the patience a transient cause gets is minutes).
    assert!(took < Duration::from_secs(60), "the batch took {took:?} to stop");

    // Nothing written as finished, no record ended: what started is resumable.
    assert_eq!(std::fs::read_to_string(out.join(pipeline::TRAJECTORIES_FILE)).unwrap(), "");
    let started_logs = logs(&records);
    assert!(!started_logs.is_empty(), "the trajectories in flight have their records");
    for t in &started_logs {
        assert!(
            !t.events.iter().any(|e| matches!(e.body, EventBody::Termination(_))),
            "{role}: {} was ended by a broken endpoint: {:?}",
            t.trajectory_id,
            t.events.last()
        );
    }

    // The same batch with the endpoint fixed: every trajectory approved once, the
    // ones that had started resumed from their records (same ids).
    let mesh = LocalMesh::start(settings).await.unwrap();
    let out = work.path().join("out-fixed");
    let finished =
        pipeline::synthesize(&mesh.endpoints.supervisor, batch, Default::default(), CONCURRENCY, &out, |_| {}, |_| {}).await.unwrap();
    mesh.stop().await.unwrap();
    assert!(finished.failures.is_empty(), "{:?}", finished.failures);
    assert_all_approved_once(&finished.trajectories, TRAJECTORIES, &records, &out);
    for t in &started_logs {
        assert!(finished.trajectories.iter().any(|f| f.trajectory_id == t.trajectory_id), "{} was not resumed", t.trajectory_id);
    }
    assert_eq!(logs(&records).len(), TRAJECTORIES, "one record per trajectory");
    sim.shutdown().await;
}
