//! The state machine against a scripted agent (no network but the simulated
//! model's HTTP): deterministic checks, caps and typed terminations.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use productresearch_llm::{EndpointConfig, LlmClient};
use productresearch_record::fixtures;
use productresearch_record::*;
use supervisor::{
    AgentMessage, Caps, InferredIntent, Mesh, MeshError, Position, ResearchLink, StartSession, Supervisor, ToolList, VerdictMessage,
};
use tokio::sync::mpsc;

fn intent() -> Intent {
    fixtures::intent("Which noise cancelling headphones under $300?")
}

fn history() -> UserHistory {
    serde_json::from_value(serde_json::json!({"user_id": "u1", "events": [{"kind": "purchase", "title": "Earbuds"}]})).unwrap()
}

fn call(id: &str, args: &str) -> Step {
    Step::call(ToolCall { id: id.into(), name: "product_search".into(), arguments: args.into() }, "", TokenUsage::default(), "agent-model")
}

fn result(id: &str) -> Step {
    Step::result(ToolResult { call_id: id.into(), name: "product_search".into(), content: "{\"results\":[]}".into(), is_error: false })
}

fn text(kind: StepKind, t: &str) -> Step {
    Step::text(kind, t, TokenUsage { prompt_tokens: 10, completion_tokens: 5 }, "agent-model")
}

/// A mesh whose agent sends a fixed script, one step per verdict (none after
/// a tool result when the session says so), and which remembers the verdicts
/// it got and how each session started.
struct Scripted {
    script: Vec<Step>,
    intent: Result<(), MeshError>,
    verdicts: Arc<Mutex<Vec<VerdictMessage>>>,
    starts: Arc<Mutex<Vec<StartSession>>>,
    /// ListTools calls.
    listed: Arc<Mutex<usize>>,
    /// An agent older than `skip_result_verdicts`: it waits for a verdict on
    /// every step and does not say it would go on without one.
    old_agent: bool,
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
const SNAPSHOT: &str = "replay:tool-store";

impl Mesh for Scripted {
    async fn infer_intent(&self, _: &UserHistory) -> Result<InferredIntent, MeshError> {
        self.intent.clone()?;
        Ok(InferredIntent { intent: intent(), usage: TokenUsage::default(), model: "ua-model".into(), prompts: Vec::new() })
    }

    async fn open_research(&self, start: StartSession) -> Result<ResearchLink, MeshError> {
        let (vtx, mut vrx) = mpsc::channel::<VerdictMessage>(4);
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
                    Some(v) => seen.lock().unwrap().push(v),
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
            parameters: serde_json::json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        }];
        Ok(ToolList { specs, snapshot: SNAPSHOT.into() })
    }
}

async fn run(script: Vec<Step>, caps: Caps, intent: Result<(), MeshError>) -> (Trajectory, Vec<Verdict>) {
    let (t, sent, _) = run_with(script, caps, intent, false).await;
    (t, sent.into_iter().map(|m| m.verdict).collect())
}

/// Runs `script` (with the result check when `check_results`); the record,
/// the verdict messages the agent got and how its session started.
async fn run_with(
    script: Vec<Step>,
    caps: Caps,
    intent: Result<(), MeshError>,
    check_results: bool,
) -> (Trajectory, Vec<VerdictMessage>, Option<StartSession>) {
    run_against(Scripted { script, intent, ..Scripted::default() }, caps, check_results, true).await
}

/// [`run_with`] against `mesh`, the model judging the tool calls that pass
/// the deterministic checks when `model_call_checks`.
async fn run_against(
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

fn verdict_of(t: &Trajectory, i: usize) -> Verdict {
    t.steps()[i].2.cloned().expect("verdict")
}

#[tokio::test]
async fn schema_violations_and_exact_repeats_are_rejected_without_a_model_call() {
    let script = vec![
        text(StepKind::Plan, "plan v1"),
        text(StepKind::Plan, "plan v2"),
        call("c1", "{\"query\": \"headphones\"}"),
        result("c1"),
        call("c2", "{ \"query\" : \"headphones\" }"),
        call("c3", "{\"limit\": 3}"),
        call("c4", "{\"query\": \"anc headphones\"}"),
        result("c4"),
        text(StepKind::Report, "report v1"),
        text(StepKind::Report, "report v2"),
    ];
    let (t, sent) = run(script, Caps::default(), Ok(())).await;
    assert_eq!(t.termination().unwrap().reason, TerminationReason::Approved);
    let repeat = verdict_of(&t, 4);
    assert_eq!(repeat.decision, Decision::Revise);
    assert!(repeat.deterministic && repeat.feedback.contains("already called"), "{repeat:?}");
    assert_eq!(repeat.usage, TokenUsage::default(), "no model call for a deterministic verdict");
    let bad_args = verdict_of(&t, 5);
    assert!(bad_args.deterministic && bad_args.feedback.contains("query"), "{bad_args:?}");
    assert_eq!(verdict_of(&t, 6).decision, Decision::Approve);
    assert!(!verdict_of(&t, 6).deterministic, "a valid call is judged by the model");
    // Every verdict recorded was also sent to the agent, in order, but the
    // approvals of tool results: those are recorded without a round trip.
    let recorded: Vec<Verdict> =
        t.steps().iter().filter(|(_, s, _)| s.kind != StepKind::ToolResult).filter_map(|(_, _, v)| v.cloned()).collect();
    assert_eq!(sent, recorded);
    let results: Vec<&Verdict> = t.steps().iter().filter(|(_, s, _)| s.kind == StepKind::ToolResult).filter_map(|(_, _, v)| *v).collect();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|v| v.approved() && v.deterministic && v.usage == TokenUsage::default()), "{results:?}");
    assert_eq!(t.models.get("user-agent").map(String::as_str), Some("ua-model"));
    assert_eq!(t.models.get("supervisor").map(String::as_str), Some("sup-model"));
}

#[tokio::test]
async fn the_round_cap_ends_an_unapproved_trajectory() {
    let script = vec![text(StepKind::Plan, "p1"), text(StepKind::Plan, "p2"), text(StepKind::Report, "r1"), text(StepKind::Report, "r2")];
    let (t, _) = run(script, Caps { max_report_rounds: 1, ..Caps::default() }, Ok(())).await;
    let end = t.termination().unwrap();
    assert_eq!(end.reason, TerminationReason::RoundCap, "{end:?}");
    assert_eq!(t.steps().iter().filter(|(_, s, _)| s.kind == StepKind::Report).count(), 1);
}

#[tokio::test]
async fn repeated_rejections_end_with_a_budget_termination() {
    let script = vec![text(StepKind::Plan, "p1"), text(StepKind::Plan, "p2"), call("c1", "{}"), call("c2", "{}"), call("c3", "[]")];
    let (t, _) = run(script, Caps { max_rejections_per_step: 3, ..Caps::default() }, Ok(())).await;
    let end = t.termination().unwrap();
    assert_eq!(end.reason, TerminationReason::Budget);
    assert!(end.detail.contains("3 tool calls in a row"), "{end:?}");
}

#[tokio::test]
async fn an_agent_that_stops_early_is_a_mesh_failure_and_a_model_failure_is_typed() {
    let (t, _) = run(vec![text(StepKind::Plan, "p1")], Caps::default(), Ok(())).await;
    assert_eq!(t.termination().unwrap().reason, TerminationReason::MeshFailure);

    let failure = MeshError::permanent(TerminationReason::ModelFailure, "user-agent: model down");
    let (t, _) = run(vec![], Caps::default(), Err(failure)).await;
    assert_eq!(t.events.len(), 1, "only the termination is recorded");
    assert_eq!(t.termination().unwrap().reason, TerminationReason::ModelFailure);
    assert!(t.intent().is_none());
}

#[tokio::test]
async fn each_budget_ends_the_trajectory_naming_itself() {
    let plans = || vec![text(StepKind::Plan, "p1"), text(StepKind::Plan, "p2"), text(StepKind::Report, "r1")];
    // Each text step costs the agent 15 tokens.
    let (t, _) = run(plans(), Caps { max_tokens: 20, ..Caps::default() }, Ok(())).await;
    let end = t.termination().unwrap();
    assert_eq!((end.reason, end.budget), (TerminationReason::Budget, Some(BudgetKind::Tokens)), "{end:?}");
    let (t, _) = run(plans(), Caps { max_role_tokens: 20, ..Caps::default() }, Ok(())).await;
    let end = t.termination().unwrap();
    assert_eq!(end.budget, Some(BudgetKind::RoleTokens), "{end:?}");
    assert!(end.detail.contains("research-agent"), "{end:?}");

    let calls = vec![
        text(StepKind::Plan, "p1"),
        text(StepKind::Plan, "p2"),
        call("c1", r#"{"query": "anc headphones"}"#),
        result("c1"),
        call("c2", r#"{"query": "wireless earbuds"}"#),
    ];
    let (t, _) = run(calls.clone(), Caps { max_round_tool_calls: 1, ..Caps::default() }, Ok(())).await;
    assert_eq!(t.termination().unwrap().budget, Some(BudgetKind::RoundToolCalls));
    let (t, _) = run(calls, Caps { max_tool_calls: 1, ..Caps::default() }, Ok(())).await;
    assert_eq!(t.termination().unwrap().budget, Some(BudgetKind::ToolCalls));

    let (t, _) = run(plans(), Caps { max_report_rounds: 1, ..Caps::default() }, Ok(())).await;
    let end = t.termination().unwrap();
    assert_eq!((end.reason, end.budget), (TerminationReason::RoundCap, Some(BudgetKind::ReportRounds)));
}

#[tokio::test]
async fn failures_are_classified_in_the_record() {
    // An agent that keeps breaking off: a transient mesh failure once the resumes run out.
    let (t, _) = run(vec![text(StepKind::Plan, "p1")], Caps::default(), Ok(())).await;
    let end = t.termination().unwrap();
    assert_eq!(end.failure, Some(FailureClass { kind: FailureKind::Mesh, transient: true }), "{end:?}");
    // A model failure of the user agent is a permanent model failure, recorded as such.
    let (t, _) = run(vec![], Caps::default(), Err(MeshError::permanent(TerminationReason::ModelFailure, "model down"))).await;
    let end = t.termination().unwrap();
    assert_eq!(end.failure, Some(FailureClass { kind: FailureKind::Model, transient: false }));
    let line = serde_json::to_string(t.events.last().unwrap()).unwrap();
    assert!(line.contains(r#""failure":{"kind":"model","transient":false}"#), "{line}");
}

/// An outage past the patience ends the trajectory with a transient failure;
/// a re-run resumes it from its record instead of returning the failure.
#[tokio::test]
async fn a_rerun_resumes_a_trajectory_that_ended_on_a_transient_failure() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sup-model")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let resume = supervisor::Resume { patience_secs: 1, backoff_ms: 50, max_backoff_ms: 200, max_sessions: 4 };
    let script = vec![text(StepKind::Plan, "p1"), text(StepKind::Plan, "p2"), text(StepKind::Report, "r1"), text(StepKind::Report, "r2")];
    let verdicts = Arc::new(Mutex::new(Vec::new()));
    let down = Scripted {
        script: script.clone(),
        intent: Err(MeshError::transient(TerminationReason::MeshFailure, "user-agent: connection refused (Unavailable)")),
        verdicts: verdicts.clone(),
        ..Scripted::default()
    };
    let sup = Supervisor::new(Arc::new(down), llm.clone(), Caps::default(), dir.path()).with_resume(resume);
    let started = std::time::Instant::now();
    let failed = sup.synthesize(history(), Caps::default(), None).await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "the patience was waited out");
    let end = failed.termination().unwrap();
    assert_eq!(end.failure, Some(FailureClass { kind: FailureKind::Mesh, transient: true }), "{end:?}");

    let up = Scripted { script, intent: Ok(()), verdicts, ..Scripted::default() };
    let sup = Supervisor::new(Arc::new(up), llm, Caps::default(), dir.path()).with_resume(resume);
    let resumed = sup.synthesize(history(), Caps::default(), None).await.unwrap();
    assert_eq!(resumed.trajectory_id, failed.trajectory_id);
    assert!(resumed.approved(), "{:?}", resumed.termination());
    resumed.validate().unwrap();
    assert_eq!(resumed.events.iter().filter(|e| matches!(e.body, EventBody::Termination(_))).count(), 1, "the transient end was replaced");
}

/// A caller whose deadline passes while a service is down gets a cancelled
/// record back; the log keeps no termination, so the next run resumes.
#[tokio::test]
async fn a_passing_caller_deadline_is_not_recorded_as_a_failure() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sup-model")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let down = Scripted {
        script: vec![],
        intent: Err(MeshError::transient(TerminationReason::MeshFailure, "user-agent: deadline exceeded (DeadlineExceeded)")),
        ..Scripted::default()
    };
    let sup = Supervisor::new(Arc::new(down), llm, Caps::default(), dir.path());
    let deadline = Some(std::time::Instant::now() + std::time::Duration::from_millis(300));
    let t = productresearch_runtime::context::with_deadline(deadline, sup.synthesize(history(), Caps::default(), None)).await.unwrap();
    let end = t.termination().unwrap();
    assert_eq!(end.reason, TerminationReason::Cancelled, "{end:?}");
    let logs: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    for log in logs {
        let text = std::fs::read_to_string(log.unwrap().path()).unwrap();
        assert!(!text.contains("\"termination\""), "{text}");
    }
}

#[tokio::test]
async fn near_repeats_and_degenerate_output_are_rejected_without_a_model_call() {
    let looping = "I will search for headphones again and ".repeat(6);
    let mut degenerate = call("c3", r#"{"query": "over ear headphones"}"#);
    degenerate.reasoning = looping;
    let script = vec![
        text(StepKind::Plan, "p1"),
        text(StepKind::Plan, "p2"),
        call("c1", r#"{"query": "noise cancelling headphones"}"#),
        result("c1"),
        call("c2", r#"{"query": "Headphones, noise-cancelling"}"#),
        degenerate,
        call("c4", r#"{"query": "over ear headphones"}"#),
        result("c4"),
        text(StepKind::Report, "r1"),
        text(StepKind::Report, "r2"),
    ];
    let (t, _) = run(script, Caps::default(), Ok(())).await;
    assert!(t.approved(), "{:?}", t.termination());
    let near = verdict_of(&t, 4);
    assert!(near.deterministic && near.feedback.contains("nearly the same"), "{near:?}");
    let looped = verdict_of(&t, 5);
    assert!(looped.deterministic && looped.feedback.contains("repeats itself"), "{looped:?}");
    assert_eq!(verdict_of(&t, 6).decision, Decision::Approve);
}

/// The guards are caps: switched off, what the defaults send back without a
/// model call goes to the model's verdict.
#[tokio::test]
async fn guards_switched_off_leave_the_verdict_to_the_model() {
    let echo_plan = "Now carry out your plan: call the tools one at a time.";
    let mut looping = call("c3", r#"{"query": "over ear headphones"}"#);
    looping.reasoning = "I will search for headphones again and ".repeat(6);
    let near = call("c2", r#"{"query": "Headphones, noise-cancelling"}"#);
    let first = call("c1", r#"{"query": "noise cancelling headphones"}"#);

    let by_default =
        vec![text(StepKind::Plan, echo_plan), text(StepKind::Plan, "p2"), first.clone(), result("c1"), near.clone(), looping.clone()];
    let (t, _) = run(by_default, Caps::default(), Ok(())).await;
    for (i, what) in [(0, "repeats your instructions"), (4, "nearly the same"), (5, "repeats itself")] {
        let v = verdict_of(&t, i);
        assert!(v.deterministic && v.decision == Decision::Revise && v.feedback.contains(what), "step {i}: {v:?}");
    }
    // A deterministic verdict names the template of its feedback.
    let names: Vec<String> = verdict_of(&t, 4).prompts.into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["supervisor/feedback/near_repeat"]);

    let off = Caps { plan_echo_percent: 0, near_repeat_percent: 0, degenerate_repeat_percent: 0, ..Caps::default() };
    let script = vec![
        text(StepKind::Plan, echo_plan),
        text(StepKind::Plan, "p2"),
        first,
        result("c1"),
        near,
        result("c2"),
        looping,
        result("c3"),
        text(StepKind::Report, "r1"),
        text(StepKind::Report, "r2"),
    ];
    let (t, _) = run(script, off, Ok(())).await;
    assert!(t.approved(), "{:?}", t.termination());
    for i in [0, 4, 6] {
        assert!(!verdict_of(&t, i).deterministic, "step {i}: {:?}", verdict_of(&t, i));
    }
    assert_eq!(verdict_of(&t, 4).decision, Decision::Approve);
    assert_eq!(verdict_of(&t, 6).decision, Decision::Approve);
}

#[tokio::test]
async fn without_model_call_checks_the_deterministic_checks_decide_calls_alone() {
    let script = || {
        vec![
            text(StepKind::Plan, "p"),
            call("c1", r#"{"query": 7}"#),
            call("c1", r#"{"query": "noise cancelling headphones"}"#),
            result("c1"),
            text(StepKind::Report, "r1"),
            text(StepKind::Report, "r2"),
        ]
    };
    let mesh = |script| Scripted { script, intent: Ok(()), ..Scripted::default() };
    let (judged, ..) = run_against(mesh(script()), Caps::default(), false, true).await;
    let (alone, ..) = run_against(mesh(script()), Caps::default(), false, false).await;
    for t in [&judged, &alone] {
        let bad = verdict_of(t, 1);
        assert!(bad.deterministic && bad.decision == Decision::Revise, "a schema violation is still sent back: {bad:?}");
        assert!(!verdict_of(t, 0).deterministic, "plans are still judged by the model");
    }
    let by_model = verdict_of(&judged, 2);
    assert!(!by_model.deterministic && by_model.usage.prompt_tokens > 0, "{by_model:?}");
    let by_checks = verdict_of(&alone, 2);
    assert!(by_checks.deterministic && by_checks.decision == Decision::Approve && by_checks.usage.prompt_tokens == 0, "{by_checks:?}");
    assert!(alone.approved(), "{:?}", alone.termination());
}

/// Two batches share one supervisor-wide slot: the one that came second is
/// not starved by the first; their trajectories take turns.
#[tokio::test]
async fn batches_take_turns_for_the_supervisors_slots() {
    // Slow enough verdicts that the second batch is waiting while the first runs.
    let sim =
        productresearch_sim_llm::spawn_local(productresearch_sim_llm::SimConfig { latency_ms: 40, ..Default::default() }).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sup-model")).unwrap();
    let script = vec![text(StepKind::Plan, "plan"), text(StepKind::Report, "report")];
    let mesh = Scripted { script, intent: Ok(()), ..Scripted::default() };
    let listed = mesh.listed.clone();
    let dir = tempfile::tempdir().unwrap();
    let sup = Supervisor::new(Arc::new(mesh), llm, Caps::default(), dir.path());
    let scheduler = supervisor::Scheduler::new(1);
    let users = |prefix: &str, n: usize| -> Vec<UserHistory> {
        (0..n).map(|i| UserHistory { user_id: format!("{prefix}{i}"), ..history() }).collect()
    };
    let (done_tx, mut done) = mpsc::unbounded_channel::<String>();
    let batch = |histories: Vec<UserHistory>| {
        let (events, mut inbox) = mpsc::channel(64);
        let work = tokio::spawn(supervisor::run_batch(sup.clone(), scheduler.clone(), histories, Caps::default(), 4, events));
        let done_tx = done_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = inbox.recv().await {
                if let supervisor::BatchEvent::Trajectory(t) = event {
                    assert!(t.approved(), "{:?}", t.termination());
                    done_tx.send(t.user_id.clone()).unwrap();
                }
            }
            work.await.unwrap();
        })
    };
    let big = batch(users("big", 4));
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let small = batch(users("small", 2));
    big.await.unwrap();
    small.await.unwrap();
    drop(done_tx);
    let mut order = Vec::new();
    while let Some(user) = done.recv().await {
        order.push(user);
    }
    // big1 was already waiting when the small batch came; from then on they
    // alternate. A plain FIFO queue would run all of big first.
    assert_eq!(order, ["big0", "big1", "small0", "big2", "small1", "big3"]);
    assert_eq!(scheduler.in_flight(), 0);
    assert_eq!(*listed.lock().unwrap(), 2, "the tools listed once per batch, not per trajectory");

    // A batch with nothing to run (every history rejected up front) ends at once.
    let (events, mut inbox) = mpsc::channel(4);
    let empty = supervisor::run_batch(sup.clone(), scheduler.clone(), Vec::new(), Caps::default(), 4, events);
    tokio::time::timeout(std::time::Duration::from_secs(5), empty).await.expect("an empty batch ended");
    assert!(matches!(inbox.recv().await, Some(supervisor::BatchEvent::Progress(p)) if p.total == 0));
    assert!(inbox.recv().await.is_none());
}

fn research_script() -> Vec<Step> {
    vec![
        text(StepKind::Plan, "plan v1"),
        text(StepKind::Plan, "plan v2"),
        call("c1", r#"{"query": "noise cancelling headphones"}"#),
        result("c1"),
        call("c2", r#"{"query": "over ear headphones under 300"}"#),
        result("c2"),
        call("c3", r#"{"query": "anc earbuds with long battery"}"#),
        result("c3"),
        text(StepKind::Report, "report v1"),
        text(StepKind::Report, "report v2"),
    ]
}

/// Stream messages of a session: the agent's steps and the verdicts it got.
fn messages(t: &Trajectory, sent: &[VerdictMessage]) -> usize {
    t.steps().len() + sent.len()
}

/// A tool result costs one message (the result), not two (result and an
/// automatic approval): measured against the same script with the result
/// check on, where every step waits for its verdict as before.
#[tokio::test]
async fn tool_results_are_recorded_without_a_verdict_round_trip() {
    let (t, sent, start) = run_with(research_script(), Caps::default(), Ok(()), false).await;
    assert!(t.approved(), "{:?}", t.termination());
    assert!(start.unwrap().skip_result_verdicts);
    let (judged, judged_sent, judged_start) = run_with(research_script(), Caps::default(), Ok(()), true).await;
    assert!(judged.approved(), "{:?}", judged.termination());
    assert!(!judged_start.unwrap().skip_result_verdicts);
    let results = t.steps().iter().filter(|(_, s, _)| s.kind == StepKind::ToolResult).count();
    let calls = results;
    let (now, before) = (messages(&t, &sent), messages(&judged, &judged_sent));
    println!("stream messages per trajectory: {before} with a verdict per result, {now} without ({calls} tool calls)");
    assert_eq!(results, 3);
    assert_eq!(before - now, results, "one message less per tool call");
    // The record is the same either way: every step has its verdict.
    assert_eq!(t.events.len(), judged.events.len());
    assert_eq!(sent.len() + results, t.steps().iter().filter(|(_, _, v)| v.is_some()).count());
}

/// An agent older than the offer (it says nothing of skipping) keeps getting
/// a verdict on every result, so a supervisor can be upgraded before its
/// agents without a session waiting for a verdict that never comes.
#[tokio::test]
async fn an_agent_that_does_not_accept_the_offer_gets_every_verdict() {
    let mesh = Scripted { script: research_script(), old_agent: true, ..Scripted::default() };
    let (t, sent, start) = run_against(mesh, Caps::default(), false, true).await;
    assert!(t.approved(), "{:?}", t.termination());
    assert!(start.unwrap().skip_result_verdicts, "offered");
    let results: Vec<_> = t.steps().iter().filter(|(_, s, _)| s.kind == StepKind::ToolResult).map(|(_, _, v)| v.cloned()).collect();
    assert_eq!(results.len(), 3);
    assert_eq!(sent.len(), t.steps().iter().filter(|(_, _, v)| v.is_some()).count(), "a verdict for every step, results included");
    assert!(sent.iter().all(|m| m.after_result.is_none()), "no place past an unverdicted result is given");
}

/// With the result check configured a result can really be sent back: the
/// revise verdict is recorded and reaches the agent.
#[tokio::test]
async fn a_configured_result_check_sends_a_failed_call_back() {
    let mut script = research_script();
    script[3] = Step::result(ToolResult {
        call_id: "c1".into(),
        name: "product_search".into(),
        content: "backend unavailable: catalog index is loading".into(),
        is_error: true,
    });
    let (t, sent, _) = run_with(script, Caps::default(), Ok(()), true).await;
    let verdict = verdict_of(&t, 3);
    assert_eq!((verdict.decision, verdict.state), (Decision::Revise, SupervisorState::CheckToolcall), "{verdict:?}");
    assert!(verdict.deterministic && verdict.feedback.contains("product_search failed (backend unavailable"), "{verdict:?}");
    assert!(sent.iter().any(|m| m.verdict == verdict), "the agent got the rejection");
    // Without the check the same result is recorded as approved.
    let mut script = research_script();
    script[3] = Step::result(ToolResult { call_id: "c1".into(), name: "product_search".into(), content: "x".into(), is_error: true });
    let (t, _, _) = run_with(script, Caps::default(), Ok(()), false).await;
    assert!(verdict_of(&t, 3).approved());
}

/// The agent learns where each of its steps goes in the record from the
/// supervisor (start, every verdict, and past a result that gets none), and
/// the tools come with the start; the record names the gateway's snapshot.
#[tokio::test]
async fn the_supervisor_tells_the_agent_its_tools_and_each_steps_place() {
    let (t, sent, start) = run_with(research_script(), Caps::default(), Ok(()), false).await;
    let start = start.unwrap();
    assert_eq!(t.tool_snapshot, SNAPSHOT);
    assert_eq!(start.tools.len(), 1);
    assert_eq!(start.tools[0].name, "product_search");
    let steps = t.steps();
    let place = |i: usize| Position { seq: steps[i].0.seq, round: steps[i].0.round };
    // The intent is event 0: the first step is event 1.
    assert_eq!(start.next, Position { seq: 1, round: 1 });
    assert_eq!(start.next, place(0));
    let judged: Vec<usize> = (0..steps.len()).filter(|&i| steps[i].1.kind != StepKind::ToolResult).collect();
    assert_eq!(sent.len(), judged.len());
    for (m, &i) in sent.iter().zip(&judged) {
        if i + 1 == steps.len() {
            break; // the approved report: nothing follows
        }
        assert_eq!(m.next, place(i + 1), "after step {i}");
        let approved_call = steps[i].1.kind == StepKind::ToolCall && m.verdict.approved();
        assert_eq!(m.after_result, approved_call.then(|| place(i + 2)), "after step {i}");
    }
    // The rejected first report ends round 1: the revision is told round 2.
    let revision = sent.iter().zip(&judged).find(|(_, i)| steps[**i].1.text == "report v1").unwrap().0;
    assert_eq!(revision.next.round, 2);
}

/// A record written before tool results went without a verdict round trip
/// (and before records carried the snapshot) resumes: the agent gets its
/// transcript, the next step goes after it, and the trajectory finishes.
#[tokio::test]
async fn a_record_written_before_the_change_resumes() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sup-model")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = supervisor::trajectory_id(&history(), &Caps::default(), "sup-model");
    let old = include_str!("fixtures/old_record.jsonl");
    std::fs::write(dir.path().join(format!("{id}.jsonl")), old).unwrap();
    let recorded = old.lines().count();
    // The agent goes on after the recorded steps.
    let mesh = Scripted { script: research_script()[4..].to_vec(), ..Scripted::default() };
    let starts = mesh.starts.clone();
    let sup = Supervisor::new(Arc::new(mesh), llm, Caps::default(), dir.path());
    let t = sup.synthesize(history(), Caps::default(), None).await.unwrap();
    t.validate().unwrap();
    assert!(t.approved(), "{:?}", t.termination());
    let old_events: Vec<TrajectoryEvent> = old.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(t.events[..recorded], old_events[..], "the old events are kept as they were");
    let start = starts.lock().unwrap().first().cloned().unwrap();
    assert_eq!(start.transcript.len(), recorded - 1, "every step and verdict after the intent");
    assert_eq!(start.next, Position { seq: recorded as u64, round: 1 });
    assert_eq!(t.tool_snapshot, SNAPSHOT);
}
