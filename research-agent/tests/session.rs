//! The session against the simulated model and an in-memory tool gateway:
//! the ReAct loop, verdicts applied, and resume from a transcript.

use std::sync::{Arc, Mutex};

use productresearch_llm::{EndpointConfig, LlmClient};
use productresearch_record::fixtures;
use productresearch_record::*;
use research_agent::{Session, Tools};

/// Tools that answer from fixed JSON and count calls.
#[derive(Default)]
struct FakeTools {
    calls: Mutex<Vec<String>>,
}

impl Tools for FakeTools {
    async fn list(&self) -> Result<Vec<ToolSpec>, String> {
        Ok(specs())
    }

    async fn call(&self, _: &str, call_id: &str, name: &str, arguments: &str) -> Result<ToolResult, String> {
        self.calls.lock().unwrap().push(format!("{name}{arguments}"));
        let content = match name {
            "product_search" => r#"{"results":[{"product_id":"hp-007","title":"Quiet Headphones","price":199.0}],"total":1}"#,
            "web_search" => r#"{"results":[{"url":"https://reviews.example/anc","title":"ANC guide","snippet":"..."}]}"#,
            _ => r#"{"title":"details"}"#,
        };
        Ok(ToolResult { call_id: call_id.into(), name: name.into(), content: content.into(), is_error: false })
    }
}

fn specs() -> Vec<ToolSpec> {
    fixtures::tools()
}

fn intent() -> Intent {
    fixtures::intent("Which noise cancelling headphones should I buy under $300?")
}

fn approve(kind: StepKind) -> Verdict {
    Verdict { deterministic: false, ..Verdict::approve(SupervisorState::for_step(kind)) }
}

async fn new_session(tools: Arc<FakeTools>, llm: &LlmClient) -> Session<FakeTools> {
    Session::new(llm.clone(), tools, specs(), "t-1".into(), &intent(), 3)
}

// A small model asked again at the same low temperature writes the same
// plan or report again, whatever the feedback says.
#[tokio::test]
async fn a_step_sent_back_is_asked_for_again_hotter() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let endpoint = EndpointConfig { temperature: Some(0.2), ..EndpointConfig::new(sim.base_url(), "sim-model") };
    let mut a = new_session(Arc::new(FakeTools::default()), &LlmClient::new(endpoint).unwrap()).await;
    assert_eq!(a.next_temperature(), None, "the endpoint's own");
    let plan = a.next_step().await.unwrap();
    let mut hotter = Vec::new();
    for _ in 0..4 {
        a.apply(&plan, &Verdict::revise(SupervisorState::CheckPlan, "Compare the candidates on price."));
        hotter.push(a.next_temperature().unwrap());
    }
    let expected = [0.5, 0.8, 1.0, 1.0];
    assert!(hotter.iter().zip(expected).all(|(t, e)| (t - e).abs() < 1e-6), "{hotter:?}");
    a.apply(&plan, &approve(StepKind::Plan));
    assert_eq!(a.next_temperature(), None, "an approved step resets it");
    // Without a temperature of its own the endpoint's default stands.
    let plain = LlmClient::new(EndpointConfig::new(sim.base_url(), "sim-model")).unwrap();
    let mut b = new_session(Arc::new(FakeTools::default()), &plain).await;
    b.apply(&plan, &Verdict::revise(SupervisorState::CheckPlan, "Again."));
    assert_eq!(b.next_temperature(), None);
}

// A small model copies the draft it reads: without it, it writes anew.
#[tokio::test]
async fn a_sent_back_report_can_leave_the_context() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sim-model")).unwrap();
    let report = Step::text(StepKind::Report, "# Pick\n\nThe looping draft.", Default::default(), "m");
    let revise = Verdict::revise(SupervisorState::CheckReport, "The text repeats itself.");
    let mut kept = new_session(Arc::new(FakeTools::default()), &llm).await;
    kept.apply(&report, &revise);
    let mut fresh = new_session(Arc::new(FakeTools::default()), &llm).await.keeping_sent_back_reports(false);
    fresh.apply(&report, &revise);
    let turn = |s: &Session<FakeTools>| s.context().iter().rev().nth(1).and_then(|m| m.content.clone()).unwrap_or_default();
    assert_eq!(turn(&kept), "# Pick\n\nThe looping draft.");
    assert_eq!(fresh.context().len() + 1, kept.context().len());
    assert!(fresh.context().iter().all(|m| !m.content.as_deref().unwrap_or_default().contains("looping draft")));
    // The feedback follows either way.
    for s in [&kept, &fresh] {
        assert!(s.context().last().and_then(|m| m.content.as_deref()).is_some_and(|c| c.contains("The text repeats itself.")));
    }
}

#[tokio::test]
async fn plans_calls_tools_reports_and_resumes_from_a_transcript() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sim-model")).unwrap();
    let tools = Arc::new(FakeTools::default());
    let mut a = new_session(tools.clone(), &llm).await;
    let mut transcript = Trajectory::new("t-1", "u1");

    // Plan, rejected, then revised and approved.
    let plan1 = a.next_step().await.unwrap();
    assert_eq!(plan1.kind, StepKind::Plan);
    let revise = Verdict::revise(SupervisorState::CheckPlan, "Compare the candidates on price.");
    a.apply(&plan1, &revise);
    transcript.push(1, EventBody::Step(plan1.clone()));
    transcript.push(1, EventBody::Verdict(revise));
    let plan2 = a.next_step().await.unwrap();
    assert_ne!(plan2.text, plan1.text, "the revised plan differs");
    a.apply(&plan2, &approve(StepKind::Plan));
    transcript.push(1, EventBody::Step(plan2.clone()));
    transcript.push(1, EventBody::Verdict(approve(StepKind::Plan)));

    // First tool call, approved, executed through the tools.
    let call = a.next_step().await.unwrap();
    assert_eq!(call.kind, StepKind::ToolCall);
    assert_eq!(call.tool_call.as_ref().unwrap().name, "product_search");
    a.apply(&call, &approve(StepKind::ToolCall));
    transcript.push(1, EventBody::Step(call.clone()));
    transcript.push(1, EventBody::Verdict(approve(StepKind::ToolCall)));
    let result = a.next_step().await.unwrap();
    assert_eq!(result.kind, StepKind::ToolResult);
    assert_eq!(result.tool_result.as_ref().unwrap().call_id, call.tool_call.as_ref().unwrap().id);
    a.apply(&result, &approve(StepKind::ToolResult));
    transcript.push(1, EventBody::Step(result.clone()));
    transcript.push(1, EventBody::Verdict(approve(StepKind::ToolResult)));
    assert_eq!(tools.calls.lock().unwrap().len(), 1);

    // A fresh session rebuilt from the transcript continues exactly where the
    // first one is, without calling the model or the tools for past steps.
    let requests_before = sim.requests();
    let mut b = new_session(tools.clone(), &llm).await;
    b.replay(&transcript.events).unwrap();
    assert_eq!(sim.requests(), requests_before, "replay makes no model calls");
    assert_eq!(tools.calls.lock().unwrap().len(), 1, "replay makes no tool calls");
    assert_eq!(a.context(), b.context());
    let next_a = a.next_step().await.unwrap();
    let next_b = b.next_step().await.unwrap();
    assert_eq!(next_a, next_b);
    assert_eq!(next_a.tool_call.as_ref().unwrap().name, "visit_product");
    assert!(next_a.tool_call.as_ref().unwrap().arguments.contains("hp-007"), "uses the id from the result");

    // Drive to the report: the tool budget (3) forces it.
    let mut step = next_a;
    let mut reports = 0;
    while !a.done() {
        let v = if step.kind == StepKind::Report && reports == 0 {
            reports += 1;
            Verdict::revise(SupervisorState::CheckReport, "Cite the price of each option.")
        } else {
            approve(step.kind)
        };
        a.apply(&step, &v);
        if a.done() {
            break;
        }
        step = a.next_step().await.unwrap();
    }
    assert_eq!(step.kind, StepKind::Report);
    assert!(step.text.contains("[hp-007]"), "the report cites what the tools returned: {}", step.text);
    assert_eq!(tools.calls.lock().unwrap().len(), 3, "stopped at the tool budget");
}

#[tokio::test]
async fn an_out_of_order_transcript_is_refused() {
    let llm = LlmClient::new(EndpointConfig::new("http://127.0.0.1:9/v1", "m")).unwrap();
    let mut s = new_session(Arc::new(FakeTools::default()), &llm).await;
    let mut t = Trajectory::new("t", "u");
    t.push(1, EventBody::Verdict(approve(StepKind::Plan)));
    assert!(s.replay(&t.events).unwrap_err().contains("out of order"));
}
