//! Checkpoints on the real mesh (services on loopback, simulated model): an
//! interrupted trajectory resumes from its record without redoing a completed
//! step, a finished one is not run again, and a cancelled Synthesize call stops
//! the research agent's work.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch_llm::{EndpointConfig, LlmClient};
use productresearch_proto::supervisor::v1::SynthesizeRequest;
use productresearch_proto::supervisor::v1::supervisor_service_client::SupervisorServiceClient;
use productresearch_record::{EventBody, TerminationReason, Trajectory, UserHistory};
use productresearch_runtime::client::{ClientConfig, channel};
use productresearch_sim_llm::{SimConfig, SimHandle};
use supervisor::{Caps, GrpcMesh, Supervisor};
use tokio::sync::mpsc;

fn demo(path: &str) -> PathBuf {
    productresearch::local_mesh::demo_data(path)
}

fn history() -> UserHistory {
    productresearch::histories::read(&demo("histories.jsonl")).unwrap().0.remove(0)
}

async fn mesh(sim: &SimHandle, records: PathBuf) -> LocalMesh {
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    LocalMesh::start(MeshSettings::demo(llm, records, 2)).await.unwrap()
}

/// A supervisor of this process over the mesh's other services, recording into `records`.
fn supervisor(mesh: &LocalMesh, sim: &SimHandle, records: &std::path::Path) -> Supervisor<GrpcMesh> {
    let e = &mesh.endpoints;
    let grpc = GrpcMesh::new(
        channel("user-agent", &ClientConfig::single(&e.user_agent)).unwrap(),
        channel("research-agent", &ClientConfig::single(&e.research_agent)).unwrap(),
        channel("tool-gateway", &ClientConfig::single(&e.tool_gateway)).unwrap(),
    );
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sim-model")).unwrap();
    Supervisor::new(Arc::new(grpc), llm, Caps::default(), records)
}

fn bodies(t: &Trajectory) -> Vec<(u32, EventBody)> {
    t.events.iter().map(|e| (e.round, e.body.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_trajectory_resumes_without_redoing_a_completed_step() {
    let sim = productresearch_sim_llm::spawn_local(SimConfig::default()).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let mesh = mesh(&sim, work.path().join("unused")).await;

    // Reference: one uninterrupted run, and the model requests it costs.
    let reference_dir = work.path().join("reference");
    let before = sim.requests();
    let reference = supervisor(&mesh, &sim, &reference_dir).synthesize(history(), Caps::default(), None).await.unwrap();
    let uninterrupted = sim.requests() - before;
    assert!(reference.approved(), "{:?}", reference.termination());
    assert!(reference.events.len() > 12, "a trajectory long enough to cut: {}", reference.events.len());

    // The caller goes away after 9 events: the trajectory stops, cancelled,
    // and its log ends without a termination.
    let dir = work.path().join("interrupted");
    let sup = supervisor(&mesh, &sim, &dir);
    let before = sim.requests();
    let (tx, mut rx) = mpsc::channel(1);
    let run = tokio::spawn({
        let sup = sup.clone();
        async move { sup.synthesize(history(), Caps::default(), Some(tx)).await }
    });
    for _ in 0..9 {
        rx.recv().await.unwrap();
    }
    drop(rx);
    let cancelled = run.await.unwrap().unwrap();
    let first_part = sim.requests() - before;
    assert_eq!(cancelled.termination().unwrap().reason, TerminationReason::Cancelled);
    let log = std::fs::read_to_string(dir.join(format!("{}.jsonl", reference.trajectory_id))).unwrap();
    assert!(!log.contains("\"termination\""), "a cancelled trajectory stays resumable");
    let recorded = log.lines().count();
    assert!((9..reference.events.len()).contains(&recorded), "{recorded} events recorded");

    // Run again: it continues after the last recorded verdict. The two parts
    // cost exactly the requests of the uninterrupted run.
    let before = sim.requests();
    let resumed = sup.synthesize(history(), Caps::default(), None).await.unwrap();
    let second_part = sim.requests() - before;
    resumed.validate().unwrap();
    assert_eq!(resumed.trajectory_id, reference.trajectory_id);
    assert_eq!(bodies(&resumed), bodies(&reference), "the resumed trajectory is the uninterrupted one");
    assert_eq!(first_part + second_part, uninterrupted, "no model call redone ({first_part} + {second_part})");
    assert_eq!(resumed.events[..recorded], cancelled.events[..recorded], "recorded events are kept, not rewritten");

    // A finished trajectory is returned from its record without any call.
    let before = sim.requests();
    let again = sup.synthesize(history(), Caps::default(), None).await.unwrap();
    assert_eq!(sim.requests(), before);
    assert_eq!(again.events, resumed.events);

    mesh.stop().await.unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_synthesize_call_stops_the_research_agent() {
    // Slow model calls, so a trajectory that went on would keep calling.
    let sim = productresearch_sim_llm::spawn_local(SimConfig { latency_ms: 100, ..Default::default() }).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let records = work.path().join("records");
    let mesh = mesh(&sim, records.clone()).await;
    let mut client = SupervisorServiceClient::new(channel("supervisor", &ClientConfig::single(&mesh.endpoints.supervisor)).unwrap());
    let mut stream = client.synthesize(SynthesizeRequest { history: Some(history().into()), caps: None }).await.unwrap().into_inner();
    for _ in 0..4 {
        stream.message().await.unwrap().unwrap();
    }
    drop(stream);
    // Let in-flight calls settle, then nothing more may happen.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_cancel = sim.requests();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(sim.requests(), at_cancel, "model calls went on after the caller left");
    let log = std::fs::read_dir(&records).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(log).unwrap();
    assert!(!text.contains("\"termination\""), "the cancelled trajectory stays resumable");
    mesh.stop().await.unwrap();
    sim.shutdown().await;
}

/// The research agent and tool gateway of the mesh, with a hand-made intent
/// instead of the user agent's.
struct HandMadeIntent {
    grpc: GrpcMesh,
    intent: productresearch_record::Intent,
}

impl supervisor::Mesh for HandMadeIntent {
    async fn infer_intent(&self, _: &UserHistory) -> Result<supervisor::InferredIntent, supervisor::MeshError> {
        Ok(supervisor::InferredIntent {
            intent: self.intent.clone(),
            usage: Default::default(),
            model: "hand-made".into(),
            prompts: Default::default(),
        })
    }
    async fn open_research(&self, start: supervisor::StartSession) -> Result<supervisor::ResearchLink, supervisor::MeshError> {
        self.grpc.open_research(start).await
    }
    async fn list_tools(&self) -> Result<supervisor::ToolList, supervisor::MeshError> {
        self.grpc.list_tools().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_are_the_next_turns_of_the_same_trajectory() {
    use productresearch_record::{FollowUp, IntentShift, StepKind};
    let sim = productresearch_sim_llm::spawn_local(SimConfig::default()).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let mesh = mesh(&sim, work.path().join("unused")).await;
    let e = &mesh.endpoints;
    let grpc = GrpcMesh::new(
        channel("user-agent", &ClientConfig::single(&e.user_agent)).unwrap(),
        channel("research-agent", &ClientConfig::single(&e.research_agent)).unwrap(),
        channel("tool-gateway", &ClientConfig::single(&e.tool_gateway)).unwrap(),
    );
    let mut intent = productresearch_record::fixtures::intent("Which espresso grinder under $300 for a beginner?");
    intent.follow_ups = vec![
        FollowUp { shift: IntentShift::Narrow, message: "Only flat burr grinders, please.".into() },
        FollowUp { shift: IntentShift::ChangeConstraint, message: "Actually my budget is $500 now.".into() },
    ];
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sim-model")).unwrap();
    let records = work.path().join("records");
    let sup = Supervisor::new(Arc::new(HandMadeIntent { grpc, intent: intent.clone() }), llm, Caps::default(), &records);
    let t = sup.synthesize(history(), Caps::default(), None).await.unwrap();
    t.validate().unwrap();
    assert!(t.approved(), "{:?}", t.termination());

    // Turn markers in order, each followed by research and an approved report.
    let turns: Vec<(usize, u32, String)> = t
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.body {
            EventBody::UserTurn(u) => Some((i, u.turn, u.follow_up.message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        turns.iter().map(|(_, n, m)| (*n, m.as_str())).collect::<Vec<_>>(),
        [(1, intent.follow_ups[0].message.as_str()), (2, intent.follow_ups[1].message.as_str())]
    );
    let approved_reports: Vec<usize> = t
        .steps()
        .iter()
        .filter(|(_, s, v)| s.kind == StepKind::Report && v.is_some_and(|v| v.approved()))
        .map(|(e, _, _)| e.seq as usize)
        .collect();
    assert_eq!(approved_reports.len(), 3, "one approved report per turn");
    assert!(approved_reports[0] < turns[0].0 && turns[0].0 < approved_reports[1] && approved_reports[1] < turns[1].0);
    assert!(turns[1].0 < approved_reports[2]);
    // A turn is a new round of the same trajectory.
    assert!(t.events[turns[1].0].round > t.events[turns[0].0].round);

    // The log on disk resumes across turns: a re-run returns it unchanged.
    let again = sup.synthesize(history(), Caps::default(), None).await.unwrap();
    assert_eq!(again.events, t.events);
    mesh.stop().await.unwrap();
    sim.shutdown().await;
}
