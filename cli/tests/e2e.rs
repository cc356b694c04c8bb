//! End to end: the simulated model, all five services on loopback port 0, real
//! gRPC between them, a batch over the demo users, then distillation.

use std::collections::HashSet;
use std::path::PathBuf;

use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch::running_distill::RunningDistill;
use productresearch::{histories, pipeline};
use productresearch_llm::EndpointConfig;
use productresearch_record::{Decision, EventBody, StepKind, SupervisorState, TerminationReason, Trajectory, TrajectoryEvent};
use serde_json::Value;

fn demo(path: &str) -> PathBuf {
    productresearch::local_mesh::demo_data(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_batch_runs_through_every_state_and_exports_valid_sft() {
    let _telemetry = productresearch_runtime::telemetry::init("e2e-test", &Default::default());
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let out = tempfile::tempdir().unwrap();
    let settings = MeshSettings::demo(llm, out.path().join("records"), 2);
    let mesh = LocalMesh::start(settings).await.unwrap();
    let (users, rejected) = histories::read(&demo("histories.jsonl")).unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(users.len() >= 2);

    let mut progress_seen = 0;
    let batch =
        pipeline::synthesize(&mesh.endpoints.supervisor, users.clone(), Default::default(), 2, out.path(), |_| progress_seen += 1, |_| {})
            .await
            .unwrap();
    assert!(batch.failures.is_empty(), "{:?}", batch.failures);
    assert_eq!(batch.trajectories.len(), users.len());
    assert!(progress_seen > users.len(), "progress events: {progress_seen}");

    for t in &batch.trajectories {
        check_trajectory(t, out.path());
    }
    // Every model call of every role named its trajectory (the id crossed
    // each gRPC hop into the agents' model clients).
    let by_trajectory = sim.answers_by_trajectory();
    let mut ids: Vec<&str> = by_trajectory.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = batch.trajectories.iter().map(|t| t.trajectory_id.as_str()).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(by_trajectory.values().map(|a| a.count).sum::<u64>(), sim.requests(), "a model call without its trajectory");
    let written: Vec<Trajectory> = std::fs::read_to_string(out.path().join(pipeline::TRAJECTORIES_FILE))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(written, batch.trajectories);

    // While a batch runs, what it approved is distilled as it comes: the
    // first example is on disk before the batch is over.
    let early = tempfile::tempdir().unwrap();
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let tell = told.clone();
    let running = RunningDistill::start(
        pipeline::DistillTo {
            distiller_url: mesh.endpoints.distiller.clone(),
            gateway_url: mesh.endpoints.tool_gateway.clone(),
            min_assistant_turns: 3,
            min_tool_calls: 2,
            out: early.path().into(),
            tool_snapshot: String::new(),
        },
        move |d| tell.lock().unwrap().push(d.examples),
    );
    running.finished(&batch.trajectories[0]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while running.examples() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(running.examples(), 1, "no early pass");
    let early_sft = std::fs::read_to_string(early.path().join(pipeline::SFT_FILE)).unwrap();
    assert_eq!(early_sft.lines().count(), 1);
    assert_eq!(*told.lock().unwrap(), [1], "the user is told of the first example");
    batch.trajectories[1..].iter().for_each(|t| running.finished(t));
    running.wait().await;

    let distilled =
        pipeline::distill(&mesh.endpoints.distiller, &mesh.endpoints.tool_gateway, &batch.trajectories, 3, 2, out.path()).await.unwrap();
    assert_eq!(distilled.examples, users.len(), "drops: {:?}", distilled.drops);
    let sft = std::fs::read_to_string(&distilled.sft_path).unwrap();
    let examples: Vec<Value> = sft.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(examples.len(), users.len());
    for e in &examples {
        check_sft_example(e);
    }
    mesh.stop().await.unwrap();
    sim.shutdown().await;
}

/// Complete, ordered, every state visited, a rejection followed by a revision,
/// and the on-disk record identical to the streamed one.
fn check_trajectory(t: &Trajectory, out: &std::path::Path) {
    t.validate().unwrap();
    assert_eq!(t.termination().unwrap().reason, TerminationReason::Approved, "{:?}", t.termination());
    assert!(!t.trace_id.is_empty(), "trajectory carries its trace id");
    for role in ["user-agent", "research-agent", "supervisor"] {
        assert_eq!(t.models.get(role).map(String::as_str), Some("sim-model"), "{role}");
    }
    let states: HashSet<SupervisorState> = t
        .events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Verdict(v) => Some(v.state),
            _ => None,
        })
        .collect();
    assert_eq!(states, HashSet::from([SupervisorState::CheckPlan, SupervisorState::CheckToolcall, SupervisorState::CheckReport]));

    let steps = t.steps();
    for kind in [StepKind::Plan, StepKind::Report] {
        let of_kind: Vec<_> = steps.iter().filter(|(_, s, _)| s.kind == kind).collect();
        let first = of_kind.first().unwrap();
        assert_eq!(first.2.unwrap().decision, Decision::Revise, "first {kind:?} is rejected by the simulated supervisor");
        assert!(!first.2.unwrap().feedback.is_empty());
        let last = of_kind.last().unwrap();
        assert_eq!(last.2.unwrap().decision, Decision::Approve, "the revised {kind:?} is approved");
        assert_ne!(first.1.text, last.1.text, "the revision differs from the rejected {kind:?}");
    }
    // Rounds: the rejected report closes round 1, the approved one is round 2.
    let report_rounds: Vec<u32> = steps.iter().filter(|(_, s, _)| s.kind == StepKind::Report).map(|(e, _, _)| e.round).collect();
    assert_eq!(report_rounds, vec![1, 2]);
    // Every approved tool call is followed by its result.
    for (i, (_, s, v)) in steps.iter().enumerate() {
        if s.kind == StepKind::ToolCall && v.is_some_and(|v| v.approved()) {
            let (_, next, _) = steps[i + 1];
            assert_eq!(next.kind, StepKind::ToolResult);
            assert_eq!(next.tool_result.as_ref().unwrap().call_id, s.tool_call.as_ref().unwrap().id);
        }
    }
    let on_disk: Vec<TrajectoryEvent> = std::fs::read_to_string(out.join("records").join(format!("{}.jsonl", t.trajectory_id)))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(on_disk, t.events);
}

fn check_sft_example(e: &Value) {
    let messages = e["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1]["role"], "user");
    let mut pending: Vec<String> = Vec::new();
    let mut tool_calls = 0;
    for m in messages {
        let role = m["role"].as_str().unwrap();
        assert!(["system", "user", "assistant", "tool"].contains(&role), "illegal role {role}");
        match role {
            "assistant" => {
                assert!(pending.is_empty(), "assistant turn before every call was answered: {pending:?}");
                for c in m["tool_calls"].as_array().into_iter().flatten() {
                    let args: Value = serde_json::from_str(c["function"]["arguments"].as_str().unwrap()).unwrap();
                    assert!(args.is_object());
                    pending.push(c["id"].as_str().unwrap().to_string());
                    tool_calls += 1;
                }
                let reasoning = m["reasoning_content"].as_str().unwrap_or("").to_lowercase();
                for word in ["supervisor", "reviewer", "feedback"] {
                    assert!(!reasoning.contains(word), "internalized text mentions {word}: {reasoning}");
                }
            }
            "tool" => {
                let id = m["tool_call_id"].as_str().unwrap();
                let at = pending.iter().position(|p| p == id).expect("tool message answers a pending call");
                pending.remove(at);
            }
            _ => {}
        }
    }
    assert!(pending.is_empty(), "unanswered calls {pending:?}");
    assert!(tool_calls >= 2);
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "assistant");
    assert!(last["content"].as_str().unwrap().contains("##"), "ends with the report");
    // At least one rejection was internalized as the agent's own reflection.
    assert!(messages.iter().any(|m| m["reasoning_content"].as_str().is_some_and(|r| r.starts_with("Before I"))));
    assert_eq!(e["tools"].as_array().unwrap().len(), 4);
    assert_eq!(e["meta"]["termination"], "approved");
}

/// A run that records its tool responses writes the gateway's snapshot id
/// (as ListTools reports it) into every trajectory record, streamed and on
/// disk, and the distiller's examples name it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_carries_the_tool_snapshot_the_gateway_reports() {
    use productresearch::local_mesh::ToolsSettings;
    use productresearch_proto::tool_gateway::v1::ListToolsRequest;
    use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
    use productresearch_runtime::client::{ClientConfig, channel};
    use tool_gateway::tools::store::ToolsMode;

    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let settings = MeshSettings::demo(EndpointConfig::new(sim.base_url(), "sim-model"), out.path().join("records"), 2);
    let store = out.path().join("tool-store");
    let tools = ToolsSettings { mode: ToolsMode::Record, store: Some(store.clone()) };
    let mesh = LocalMesh::start_with_tools(settings, tools).await.unwrap();
    let mut gateway = ToolGatewayServiceClient::new(channel("tool-gateway", &ClientConfig::single(&mesh.endpoints.tool_gateway)).unwrap());
    let reported = gateway.list_tools(ListToolsRequest {}).await.unwrap().into_inner().snapshot_id;
    assert_eq!(reported, format!("record:{}", store.display()));

    let (mut users, _) = histories::read(&demo("histories.jsonl")).unwrap();
    users.truncate(2);
    let batch = pipeline::synthesize(&mesh.endpoints.supervisor, users, Default::default(), 2, out.path(), |_| {}, |_| {}).await.unwrap();
    assert_eq!(batch.trajectories.len(), 2, "{:?}", batch.failures);
    for t in &batch.trajectories {
        assert_eq!(t.tool_snapshot, reported, "{}", t.trajectory_id);
    }
    let written: Vec<Trajectory> = std::fs::read_to_string(out.path().join(pipeline::TRAJECTORIES_FILE))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(written.iter().all(|t| t.tool_snapshot == reported));

    let distilled =
        pipeline::distill(&mesh.endpoints.distiller, &mesh.endpoints.tool_gateway, &batch.trajectories, 3, 2, out.path()).await.unwrap();
    assert!(distilled.examples > 0, "drops: {:?}", distilled.drops);
    let sft = std::fs::read_to_string(&distilled.sft_path).unwrap();
    for line in sft.lines() {
        let example: Value = serde_json::from_str(line).unwrap();
        assert_eq!(example["meta"]["tool_snapshot"], reported.as_str());
    }
    mesh.stop().await.unwrap();
    sim.shutdown().await;
}
