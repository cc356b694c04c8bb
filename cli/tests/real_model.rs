//! The demo batch end to end on the real local model: the mesh on loopback,
//! every role on the embedded llama.cpp server with the endpoint settings and
//! the embedded-model bounds `productresearch run` uses, then distillation. What must hold: at least one SFT
//! example exported from the 0.5B model's own work, every approved report
//! exported (the supervisor never approves what the distiller drops), a
//! typed termination and a complete, ordered record for each trajectory. In
//! the full runs of docs/benchmarks.md two of the four users got a report
//! approved each time (one of them every time). Skips (with a line saying
//! why) when the model is not set up, unless PRODUCTRESEARCH_REQUIRE_LOCAL_MODEL
//! is set (CI).

use std::path::{Path, PathBuf};

use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch::model_endpoint::EmbeddedModel;
use productresearch::{histories, pipeline};
use productresearch_local_model::{LocalModel, LocalModelConfig, LocalModelError};
use productresearch_record::{EventBody, Trajectory, TrajectoryEvent};

/// The distiller's `min_tool_calls`, which the supervisor enforces too.
const MIN_TOOL_CALLS: u32 = 2;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_batch_on_the_real_local_model_exports_sft_examples() {
    let config = LocalModelConfig {
        models_dir: std::env::var_os("PR_MODELS_DIR").map_or_else(|| root().join(".models"), PathBuf::from),
        script: Some(root().join("scripts/serve_model.py")),
        ..LocalModelConfig::default()
    };
    match LocalModel::locate(&config) {
        Ok(_) => {}
        Err(e @ LocalModelError::NotSetUp { .. }) => {
            assert!(
                std::env::var_os("PRODUCTRESEARCH_REQUIRE_LOCAL_MODEL").is_none(),
                "PRODUCTRESEARCH_REQUIRE_LOCAL_MODEL is set but {e}"
            );
            println!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    }
    let server = EmbeddedModel::start(&config).await.unwrap();
    let llm = server.endpoint.clone();
    let out = tempfile::tempdir().unwrap();
    // The run's own bounds: with two report rounds and two tries per step
    // (cut for CI's time before), one run in three here ended all four users
    // unapproved (a plan refused twice, two reports sent back twice) once the
    // report checks grew stricter.
    let caps =
        supervisor::Caps { max_tool_calls: config.max_tool_calls, max_report_rounds: config.max_report_rounds, ..Default::default() };
    let (users, _) = histories::read(&root().join("demo/histories.jsonl")).unwrap();
    let mesh = LocalMesh::start(MeshSettings {
        user_agent_llm: llm.clone(),
        research_agent_llm: llm.clone(),
        supervisor_llm: llm,
        catalogs: vec![root().join("demo/catalog.jsonl")],
        web_corpus: Some(root().join("demo/web")),
        records_dir: out.path().join("records"),
        caps,
        batch_concurrency: users.len(),
        min_report_tool_calls: MIN_TOOL_CALLS,
        // As `productresearch run` on the embedded model.
        model_call_checks: config.model_call_checks,
        keep_sent_back_reports: config.keep_sent_back_reports,
        in_process: true,
    })
    .await
    .unwrap();
    let batch =
        pipeline::synthesize(&mesh.endpoints.supervisor, users.clone(), caps, users.len(), out.path(), |_| {}, |_| {}).await.unwrap();
    let distilled =
        pipeline::distill(&mesh.endpoints.distiller, &mesh.endpoints.tool_gateway, &batch.trajectories, 0, MIN_TOOL_CALLS, out.path())
            .await
            .unwrap();
    mesh.stop().await.unwrap();
    server.stop().await;
    let ended: Vec<String> = batch
        .trajectories
        .iter()
        .map(|t| t.termination().map_or("unterminated".into(), |e| format!("{}: {:?} ({})", t.user_id, e.reason, e.detail)))
        .collect();
    println!("{} SFT examples; ended {ended:?}; drops {:?}", distilled.examples, distilled.drops);
    assert!(distilled.examples >= 1, "no SFT example from the local model; ended {ended:?}; drops {:?}", distilled.drops);
    // The supervisor applies the distiller's rules (tool results, finished,
    // grounded) before it approves: only unapproved trajectories are dropped
    // (a failed intent is dropped as `no_query`, an ended budget as `approved`).
    let approved_ids: std::collections::HashSet<&str> =
        batch.trajectories.iter().filter(|t| t.approved()).map(|t| t.trajectory_id.as_str()).collect();
    assert!(
        distilled.drops.iter().all(|(id, _, _)| !approved_ids.contains(id.as_str())),
        "an approved report was dropped: {:?}",
        distilled.drops
    );
    let approved = batch.trajectories.iter().filter(|t| t.approved()).count();
    assert_eq!(distilled.examples, approved, "every approved trajectory is exported");

    assert_eq!(batch.trajectories.len(), users.len());
    for t in &batch.trajectories {
        check_record(t, out.path());
    }
}

/// A trajectory's record: valid, typed end, the local model's, no error text
/// as a step, and the same on disk as returned.
fn check_record(t: &Trajectory, out: &Path) {
    t.validate().unwrap();
    let end = t.termination().expect("typed termination");
    println!("real model trajectory {}: {:?} ({}) after {} events", t.trajectory_id, end.reason, end.detail, t.events.len());
    assert!(t.models.values().all(|m| m.starts_with("qwen2.5")), "{:?}", t.models);
    // Failures are recorded as failures, never as steps: no step carries error text as content.
    for e in &t.events {
        if let EventBody::Step(s) = &e.body {
            assert!(
                !s.text.contains("model output unusable") && !s.text.contains("model endpoint"),
                "error text leaked into a step: {}",
                s.text
            );
        }
    }
    let on_disk: Vec<TrajectoryEvent> = std::fs::read_to_string(out.join("records").join(format!("{}.jsonl", t.trajectory_id)))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(on_disk, t.events);
}
