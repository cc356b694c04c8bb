//! Tool calls in each tool mode against the simulated endpoint over HTTP: the
//! same conversation yields the same validated call whichever way it travels,
//! and an unusable answer is re-asked, then reported as a failure.

use productresearch_llm::{Action, ChatRequest, EndpointConfig, LlmClient, LlmError, Message, ToolChoice, ToolMode};
use productresearch_record::ToolSpec;
use productresearch_sim_llm::{FaultKind, FaultRule, SimConfig, TextToolStyle, Trigger, spawn_local};

fn tools() -> Vec<ToolSpec> {
    productresearch_record::fixtures::tools()
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system("You research products."), Message::user("Research query: quiet espresso machine with grinder")],
        tools: tools().into(),
        tool_choice: Some(ToolChoice::Auto),
        ..ChatRequest::default()
    }
}

fn client(url: String, mode: ToolMode, reask_limit: u32) -> LlmClient {
    LlmClient::new(EndpointConfig { tool_mode: mode, reask_limit, ..EndpointConfig::new(url, "sim-model") }).unwrap()
}

async fn first_call(sim: SimConfig, mode: ToolMode) -> (String, serde_json::Value) {
    let sim = spawn_local(sim).await.unwrap();
    let acted = client(sim.base_url(), mode, 2).act(&request()).await.unwrap();
    let Action::Calls(calls) = acted.action else { panic!("expected a call, got {:?}", acted.action) };
    (calls[0].name.clone(), serde_json::from_str(&calls[0].arguments).unwrap())
}

#[tokio::test]
async fn every_mode_yields_the_same_first_call() {
    let native = first_call(SimConfig::default(), ToolMode::Native).await;
    assert_eq!(native.0, "product_search");
    assert_eq!(first_call(SimConfig::default(), ToolMode::JsonSchema).await, native);
    for style in [TextToolStyle::Fenced, TextToolStyle::Tagged, TextToolStyle::Bare] {
        assert_eq!(first_call(SimConfig { text_tool_style: style, ..SimConfig::default() }, ToolMode::Lenient).await, native, "{style:?}");
    }
}

#[tokio::test]
async fn a_schema_violation_is_re_asked_and_then_fixed() {
    let sim = spawn_local(SimConfig { invalid_first_action: true, ..SimConfig::default() }).await.unwrap();
    let acted = client(sim.base_url(), ToolMode::JsonSchema, 2).act(&request()).await.unwrap();
    assert_eq!(acted.reasks, 1);
    assert_eq!(sim.requests(), 2);
    assert!(matches!(acted.action, Action::Calls(ref c) if c[0].name == "product_search"));
    assert!(acted.usage.prompt_tokens > 0);
}

#[tokio::test]
async fn an_answer_that_stays_unusable_is_a_typed_failure() {
    let sim = spawn_local(SimConfig { invalid_first_action: true, ..SimConfig::default() }).await.unwrap();
    let err = client(sim.base_url(), ToolMode::Lenient, 0).act(&request()).await.unwrap_err();
    assert!(matches!(&err, LlmError::Unusable(m) if m.contains("schema")), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn with_tools_closed_the_answer_is_a_report() {
    let sim = spawn_local(SimConfig::default()).await.unwrap();
    for mode in [ToolMode::Native, ToolMode::JsonSchema, ToolMode::Lenient] {
        let req = ChatRequest { tool_choice: Some(ToolChoice::None), ..request() };
        let acted = client(sim.base_url(), mode, 1).act(&req).await.unwrap();
        assert!(matches!(acted.action, Action::Report(ref r) if r.contains('#')), "{mode:?}: {:?}", acted.action);
    }
}

// In JSON-schema mode the grammar step only chooses the report; the report
// itself is a second, free-text request (a JSON string cannot carry a small
// model's Markdown newlines).
#[tokio::test]
async fn a_chosen_report_is_written_in_a_second_free_text_request() {
    let sim = spawn_local(SimConfig { tool_steps: 0, ..SimConfig::default() }).await.unwrap();
    let acted = client(sim.base_url(), ToolMode::JsonSchema, 1).act(&request()).await.unwrap();
    assert_eq!(sim.requests(), 2, "the choice, then the report");
    let Action::Report(report) = &acted.action else { panic!("expected a report, got {:?}", acted.action) };
    assert!(report.contains('#') && !report.trim_start().starts_with('{'), "{report}");
    assert!(acted.usage.prompt_tokens > 0);
}

// The local 0.5B model, handed back its own report cut at the token limit,
// wrote it again word for word (the simulator's `repeat_on_reask`): the
// re-ask must say what was wrong without handing back that long answer.
#[tokio::test]
async fn a_report_cut_at_the_limit_is_asked_for_again_without_handing_it_back() {
    let sim = spawn_local(SimConfig {
        repeat_on_reask: true,
        faults: vec![FaultRule { trigger: Trigger::FirstN(1), kind: FaultKind::CutOff }],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let req = ChatRequest { tool_choice: Some(ToolChoice::None), ..request() };
    let acted = client(sim.base_url(), ToolMode::JsonSchema, 1).act(&req).await.unwrap();
    assert_eq!((sim.requests(), acted.reasks), (2, 1), "one cut answer, one re-ask");
    let Action::Report(report) = &acted.action else { panic!("expected a report, got {:?}", acted.action) };
    assert!(report.contains('#') && report.len() < 2_048, "{report}");
}

// A short unusable answer is still handed back, so the model sees what it
// wrote: the same simulated model then repeats it and the answer stays
// unusable, a typed failure.
#[tokio::test]
async fn a_short_unusable_answer_is_handed_back_with_the_problem() {
    let sim = spawn_local(SimConfig { repeat_on_reask: true, invalid_first_action: true, ..SimConfig::default() }).await.unwrap();
    let err = client(sim.base_url(), ToolMode::Lenient, 1).act(&request()).await.unwrap_err();
    assert!(matches!(&err, LlmError::Unusable(m) if m.contains("after 1 re-asks")), "{err}");
    assert_eq!(sim.requests(), 2);
}
