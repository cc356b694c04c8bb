//! The client against a broken, a rate-limited and a garbling endpoint (the
//! simulated model over real HTTP): a wrong key or model name fails fast with
//! one error naming the role and endpoint, a rate limit is met without a
//! retry storm, and a cut-off report or garbled JSON is asked for again.

use productresearch_llm::{Action, ChatRequest, EndpointConfig, LlmClient, LlmError, Message, ToolChoice};
use productresearch_sim_llm::{FaultKind, FaultRule, RateLimit, SimConfig, Trigger, spawn_local};

fn request() -> ChatRequest {
    ChatRequest { messages: vec![Message::user("hello")], ..ChatRequest::default() }
}

fn client(config: EndpointConfig) -> LlmClient {
    LlmClient::new(EndpointConfig { backoff_base_ms: 1, timeout_secs: 10, ..config }).unwrap().for_agent("research-agent")
}

#[tokio::test]
async fn a_wrong_key_opens_the_breaker_and_later_calls_are_not_sent() {
    let sim = spawn_local(SimConfig { api_key: Some("right-key".into()), ..SimConfig::default() }).await.unwrap();
    // SAFETY: a variable only this test reads, set before any thread reads the environment for it.
    unsafe { std::env::set_var("ENDPOINT_HEALTH_WRONG_KEY", "wrong-key") };
    let llm = client(EndpointConfig {
        api_key_env: Some("ENDPOINT_HEALTH_WRONG_KEY".into()),
        ..EndpointConfig::new(sim.base_url(), "sim-model")
    });
    let err = llm.chat(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::EndpointBroken { status: 401, .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("research-agent model endpoint {}/chat/completions refuses every call (last 401", sim.base_url())),
        "{text}"
    );
    assert!(!err.is_transient() && err.is_endpoint_broken());
    // Every later call, from any clone, fails at once without a request.
    for _ in 0..20 {
        assert!(llm.clone().chat(&request()).await.unwrap_err().is_endpoint_broken());
    }
    assert_eq!(sim.requests(), 1, "one refusal was enough");
}

#[tokio::test]
async fn a_wrong_model_name_is_a_broken_endpoint() {
    let sim = spawn_local(SimConfig { strict_model: true, ..SimConfig::default() }).await.unwrap();
    let err = client(EndpointConfig::new(sim.base_url(), "no-such-model")).chat(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::EndpointBroken { status: 404, ref body, .. } if body.contains("no-such-model")), "{err}");
    assert!(client(EndpointConfig::new(sim.base_url(), "sim-model")).chat(&request()).await.is_ok());
}

#[tokio::test]
async fn a_rate_limited_endpoint_is_driven_without_a_retry_storm() {
    // Four at once; 32 callers. A fixed client sends all 32 and gets 28 429s
    // per wave; the adaptive one backs off to what the endpoint takes.
    let limit = RateLimit { requests_per_sec: None, max_concurrent: Some(4) };
    let sim = spawn_local(SimConfig { latency_ms: 30, rate_limit: Some(limit), ..SimConfig::default() }).await.unwrap();
    let llm = client(EndpointConfig { max_concurrency: 32, max_retries: 10, ..EndpointConfig::new(sim.base_url(), "sim-model") });
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let llm = llm.clone();
        calls.spawn(async move { llm.chat(&request()).await });
    }
    let results: Vec<_> = calls.join_all().await;
    assert!(results.iter().all(Result::is_ok), "{:?}", results.iter().find(|r| r.is_err()));
    assert!(llm.concurrency_limit() <= 8, "the limit came down to the endpoint's: {}", llm.concurrency_limit());
    // Without adaptation every one of 32 callers would see a 429 per wave it
    // lost; with it, the first burst (28 refused) measures the capacity and
    // the later probes cost a few more.
    assert!(sim.rate_limited() < 40, "{} 429s for 32 answers", sim.rate_limited());
}

#[tokio::test]
async fn a_garbled_report_is_asked_for_again_not_passed_on() {
    // The research agent's report comes back cut in half once.
    let sim = spawn_local(SimConfig {
        tool_steps: 0,
        faults: vec![FaultRule { trigger: Trigger::FirstN(1), kind: FaultKind::GarbledContent }],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let llm = client(EndpointConfig::new(sim.base_url(), "sim-model"));
    let req = ChatRequest {
        messages: vec![Message::system("You are a research agent."), Message::user("Find noise cancelling headphones under $300.")],
        tools: vec![productresearch_record::ToolSpec {
            name: "product_search".into(),
            description: "search the catalog".into(),
            parameters: serde_json::json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}).into(),
        }]
        .into(),
        tool_choice: Some(ToolChoice::None),
        ..ChatRequest::default()
    };
    let acted = llm.act(&req).await.unwrap();
    let Action::Report(report) = acted.action else { panic!("expected a report") };
    assert_eq!(acted.reasks, 1, "the garbled answer was asked for again");
    assert_eq!(productresearch_llm::completeness::is_cut_off(&report), None, "{report}");
}

#[tokio::test]
async fn a_garbled_json_answer_is_asked_for_again_with_usage_summed_then_given_up() {
    let garbled =
        |n| SimConfig { faults: vec![FaultRule { trigger: Trigger::FirstN(n), kind: FaultKind::GarbledContent }], ..SimConfig::default() };
    let req = ChatRequest {
        messages: vec![Message::user("Research query: best kettle")],
        json_schema: Some(productresearch_llm::JsonSchema {
            name: "plan".into(),
            schema: serde_json::json!({"type": "object", "required": ["steps"]}).into(),
        }),
        ..ChatRequest::default()
    };
    // Once: the second answer is used, and the usage covers both.
    let sim = spawn_local(garbled(1)).await.unwrap();
    let llm = client(EndpointConfig { reask_limit: 2, ..EndpointConfig::new(sim.base_url(), "sim-model") });
    let (plan, response) = llm.chat_json(&req).await.unwrap();
    assert!(plan["steps"].is_array(), "{plan}");
    assert_eq!(sim.requests(), 2);
    let one = llm.chat(&req).await.unwrap().usage;
    assert!(response.usage.prompt_tokens > one.prompt_tokens, "{:?} covers two requests, one costs {one:?}", response.usage);
    // Always: given up after the re-asks, as unusable output, never as content.
    let sim = spawn_local(garbled(10)).await.unwrap();
    let llm = client(EndpointConfig { reask_limit: 2, ..EndpointConfig::new(sim.base_url(), "sim-model") });
    let err = llm.chat_json(&req).await.unwrap_err();
    assert!(matches!(&err, LlmError::Unusable(m) if m.ends_with("(after 2 re-asks)")), "{err}");
    assert_eq!(sim.requests(), 3);
}
