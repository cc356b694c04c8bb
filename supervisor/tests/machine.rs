//! The state machine against a scripted agent (no network but the simulated
//! model's HTTP): deterministic checks, caps and typed terminations.

mod common;

use common::*;

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
async fn a_call_proposed_more_often_than_the_distiller_keeps_ends_the_trajectory_as_a_loop() {
    let script = vec![
        text(StepKind::Plan, "plan v1"),
        text(StepKind::Plan, "plan v2"),
        call("c1", "{\"query\": \"headphones\"}"),
        result("c1"),
        call("c2", "{\"query\": \"headphones\"}"),
        call("c3", "{ \"query\":\"headphones\" }"),
        call("c4", "{\"query\": \"anc headphones\"}"),
        result("c4"),
        text(StepKind::Report, "report v1"),
        text(StepKind::Report, "report v2"),
    ];
    let (t, _) = run(script.clone(), Caps::default(), Ok(())).await;
    let end = t.termination().unwrap();
    assert_eq!(end.reason, TerminationReason::Budget, "{end:?}");
    assert!(end.detail.contains("proposed 3 times, more than caps.max_identical_calls (2)"), "{end:?}");
    let third = verdict_of(&t, 5);
    assert!(third.deterministic && third.feedback.contains("2 times already"), "{third:?}");
    // Off, the repeat is only sent back and the research goes on.
    let (t, _) = run(script, Caps { max_identical_calls: 0, ..Caps::default() }, Ok(())).await;
    assert_eq!(t.termination().unwrap().reason, TerminationReason::Approved);
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
