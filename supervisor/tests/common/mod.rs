//! The scripted agent and runners the state machine's tests share.
// Each test file uses some of these.
#![allow(dead_code)]

pub use std::sync::atomic::AtomicBool;
pub use std::sync::{Arc, Mutex};

pub use futures::StreamExt;
pub use productresearch_llm::{EndpointConfig, LlmClient};
pub use productresearch_record::fixtures;
pub use productresearch_record::*;
pub use supervisor::{
    AgentMessage, Caps, InferredIntent, Mesh, MeshError, ResearchLink, StartSession, Supervisor, ToolList, VerdictMessage,
};
pub use tokio::sync::mpsc;

pub fn intent() -> Intent {
    fixtures::intent("Which noise cancelling headphones under $300?")
}

pub fn history() -> UserHistory {
    serde_json::from_value(serde_json::json!({"user_id": "u1", "events": [{"kind": "purchase", "title": "Earbuds"}]})).unwrap()
}

pub fn call(id: &str, args: &str) -> Step {
    Step::call(ToolCall { id: id.into(), name: "product_search".into(), arguments: args.into() }, "", TokenUsage::default(), "agent-model")
}

pub fn result(id: &str) -> Step {
    Step::result(ToolResult { call_id: id.into(), name: "product_search".into(), content: "{\"results\":[]}".into(), is_error: false })
}

pub fn text(kind: StepKind, t: &str) -> Step {
    Step::text(kind, t, TokenUsage { prompt_tokens: 10, completion_tokens: 5 }, "agent-model")
}

/// A mesh whose agent sends a fixed script, one step per verdict (none after
/// a tool result when the session says so), and which remembers the verdicts
/// it got and how each session started.
pub struct Scripted {
    pub script: Vec<Step>,
    pub intent: Result<(), MeshError>,
    pub verdicts: Arc<Mutex<Vec<VerdictMessage>>>,
    pub starts: Arc<Mutex<Vec<StartSession>>>,
    /// ListTools calls.
    pub listed: Arc<Mutex<usize>>,
    /// An agent older than `skip_result_verdicts`: it waits for a verdict on
    /// every step and does not say it would go on without one.
    pub old_agent: bool,
}

impl Default for Scripted {
    fn default() -> Self {
        Self {
            script: Vec::new(),
            intent: Ok(()),
            verdicts: Arc::default(),
            starts: Arc::default(),
            listed: Arc::default(),
            old_agent: false,
        }
    }
}

/// The snapshot id the scripted gateway reports.
pub const SNAPSHOT: &str = "replay:tool-store";

impl Mesh for Scripted {
    async fn infer_intent(&self, _: &UserHistory) -> Result<InferredIntent, MeshError> {
        self.intent.clone()?;
        Ok(InferredIntent { intent: intent(), usage: TokenUsage::default(), model: "ua-model".into(), prompts: Vec::new() })
    }

    async fn open_research(&self, start: StartSession) -> Result<ResearchLink, MeshError> {
        let (vtx, mut vrx) = mpsc::channel::<Box<VerdictMessage>>(4);
        let (stx, srx) = mpsc::channel(4);
        let script = self.script.clone();
        let skip_result_verdicts = start.skip_result_verdicts && !self.old_agent;
        self.starts.lock().unwrap().push(start);
        let seen = self.verdicts.clone();
        tokio::spawn(async move {
            for step in script {
                let unjudged = step.kind == StepKind::ToolResult && skip_result_verdicts;
                if stx.send(Ok(AgentMessage::Step(step))).await.is_err() {
                    return;
                }
                if unjudged {
                    continue;
                }
                match vrx.recv().await {
                    Some(v) => seen.lock().unwrap().push(*v),
                    None => return,
                }
            }
        });
        Ok(ResearchLink {
            verdicts: vtx,
            steps: tokio_stream::wrappers::ReceiverStream::new(srx).boxed(),
            agent_skips_result_verdicts: Arc::new(AtomicBool::new(skip_result_verdicts)),
        })
    }

    async fn list_tools(&self) -> Result<ToolList, MeshError> {
        *self.listed.lock().unwrap() += 1;
        let specs = vec![ToolSpec {
            name: "product_search".into(),
            description: "search".into(),
            parameters: serde_json::json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}).into(),
        }];
        Ok(ToolList { specs, snapshot: SNAPSHOT.into() })
    }
}

pub async fn run(script: Vec<Step>, caps: Caps, intent: Result<(), MeshError>) -> (Trajectory, Vec<Verdict>) {
    let (t, sent, _) = run_with(script, caps, intent, false).await;
    (t, sent.into_iter().map(|m| m.verdict).collect())
}

/// Runs `script` (with the result check when `check_results`); the record,
/// the verdict messages the agent got and how its session started.
pub async fn run_with(
    script: Vec<Step>,
    caps: Caps,
    intent: Result<(), MeshError>,
    check_results: bool,
) -> (Trajectory, Vec<VerdictMessage>, Option<StartSession>) {
    run_against(Scripted { script, intent, ..Scripted::default() }, caps, check_results, true).await
}

/// [`run_with`] against `mesh`, the model judging the tool calls that pass
/// the deterministic checks when `model_call_checks`.
pub async fn run_against(
    mesh: Scripted,
    caps: Caps,
    check_results: bool,
    model_call_checks: bool,
) -> (Trajectory, Vec<VerdictMessage>, Option<StartSession>) {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sup-model")).unwrap();
    let old_agent = mesh.old_agent;
    let (verdicts, starts) = (mesh.verdicts.clone(), mesh.starts.clone());
    let dir = tempfile::tempdir().unwrap();
    let resume = supervisor::Resume { patience_secs: 1, backoff_ms: 1, max_backoff_ms: 1, max_sessions: 2 };
    let sup = Supervisor::new(Arc::new(mesh), llm, caps, dir.path())
        .with_resume(resume)
        .with_result_check(check_results)
        .with_model_call_checks(model_call_checks);
    let t = sup.synthesize(history(), caps, None).await.unwrap();
    t.validate().unwrap();
    // The scripted agent takes each verdict in its own task, which may run
    // after `synthesize` returned: wait (boundedly) for it to catch up.
    let sent = t.steps().iter().filter(|(_, s, v)| v.is_some() && (check_results || old_agent || s.kind != StepKind::ToolResult)).count();
    for _ in 0..200 {
        if verdicts.lock().unwrap().len() >= sent {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let v = verdicts.lock().unwrap().clone();
    let start = starts.lock().unwrap().first().cloned();
    (t, v, start)
}

pub fn verdict_of(t: &Trajectory, i: usize) -> Verdict {
    t.steps()[i].2.cloned().expect("verdict")
}
