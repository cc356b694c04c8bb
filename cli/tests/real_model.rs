//! One short trajectory end to end on the real local model (tight caps): the
//! mesh on loopback, every role on the embedded llama.cpp server with the
//! endpoint settings `productresearch run` uses, then distillation. A 0.5B
//! model may or may not get a report approved; what must hold is a typed
//! termination, a complete, ordered record, and no approved report that the
//! distiller drops for too few tool calls. Skips (with a line saying why) when
//! the model is not set up, unless PRODUCTRESEARCH_REQUIRE_LOCAL_MODEL is set (CI).

use std::path::PathBuf;

use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch::model_endpoint::EmbeddedModel;
use productresearch::{histories, pipeline};
use productresearch_local_model::{LocalModel, LocalModelConfig, LocalModelError};
use productresearch_record::{EventBody, TrajectoryEvent};

/// The distiller's `min_tool_calls`, which the supervisor enforces too.
const MIN_TOOL_CALLS: u32 = 2;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_short_trajectory_on_the_real_local_model() {
    let config = LocalModelConfig {
        models_dir: std::env::var_os("PR_MODELS_DIR").map_or_else(|| root().join(".models"), PathBuf::from),
        script: Some(root().join("scripts/serve_model.py")),
        parallel: 2,
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
    let caps = supervisor::Caps { max_report_rounds: 2, max_tool_calls: 2, max_rejections_per_step: 2, ..Default::default() };
    let mesh = LocalMesh::start(MeshSettings {
        user_agent_llm: llm.clone(),
        research_agent_llm: llm.clone(),
        supervisor_llm: llm,
        catalogs: vec![root().join("demo/catalog.jsonl")],
        web_corpus: Some(root().join("demo/web")),
        records_dir: out.path().join("records"),
        caps,
        batch_concurrency: 1,
        min_report_tool_calls: MIN_TOOL_CALLS,
        // As `productresearch run` on the embedded model.
        model_call_checks: LocalModelConfig::default().model_call_checks,
    })
    .await
    .unwrap();
    let (users, _) = histories::read(&root().join("demo/histories.jsonl")).unwrap();
    let batch = pipeline::synthesize(&mesh.endpoints.supervisor, users[..1].to_vec(), caps, 1, out.path(), |_| {}, |_| {}).await.unwrap();
    let distilled =
        pipeline::distill(&mesh.endpoints.distiller, &mesh.endpoints.tool_gateway, &batch.trajectories, 0, MIN_TOOL_CALLS, out.path())
            .await
            .unwrap();
    mesh.stop().await.unwrap();
    server.stop().await;
    println!("{} SFT examples, drops {:?}", distilled.examples, distilled.drops);
    // The supervisor sends back a report with too few tool results, so an
    // approved trajectory is never dropped for it.
    assert!(!distilled.drops.iter().any(|(_, filter, _)| filter == "min_tool_calls"), "{:?}", distilled.drops);

    assert_eq!(batch.trajectories.len(), 1);
    let t = &batch.trajectories[0];
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
    let on_disk: Vec<TrajectoryEvent> = std::fs::read_to_string(out.path().join("records").join(format!("{}.jsonl", t.trajectory_id)))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(on_disk, t.events);
}
