//! The research stream against a scripted agent: what travels (tool results
//! without a verdict round trip unless checked, the tool list and each step's
//! place sent by the supervisor) and records written before a change resuming.

mod common;

use common::*;
use supervisor::Position;

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
/// revise verdict is recorded and reaches the agent. Either way a tool error
/// ends the trajectory there, unapproved: the distiller drops a trajectory
/// holding one, so no report of it may be approved.
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
    let end = t.termination().unwrap();
    assert_eq!(end.reason, TerminationReason::ToolFailure, "{end:?}");
    assert!(end.detail.contains("product_search c1 returned an error: backend unavailable"), "{end:?}");
    // Without the check the same result is recorded as approved, and ends it too.
    let mut script = research_script();
    script[3] = Step::result(ToolResult { call_id: "c1".into(), name: "product_search".into(), content: "x".into(), is_error: true });
    let (t, _, _) = run_with(script, Caps::default(), Ok(()), false).await;
    assert!(verdict_of(&t, 3).approved());
    assert_eq!(t.termination().unwrap().reason, TerminationReason::ToolFailure);
    assert!(!t.steps().iter().any(|(_, s, _)| s.kind == StepKind::Report), "nothing after the error is asked for");
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
