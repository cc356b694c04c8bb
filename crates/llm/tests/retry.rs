//! The client against the simulated endpoint over real HTTP: retries honour
//! Retry-After, failures stay failures.

use std::time::{Duration, Instant};

use productresearch_llm::{ChatRequest, EndpointConfig, LlmClient, LlmError, Message};
use productresearch_sim_llm::{FaultKind, FaultRule, SimConfig, Trigger, spawn_local};

fn request() -> ChatRequest {
    ChatRequest { messages: vec![Message::user("hello")], ..ChatRequest::default() }
}

fn client(base_url: String, max_retries: u32) -> LlmClient {
    LlmClient::new(EndpointConfig {
        max_retries,
        backoff_base_ms: 1,
        backoff_max_ms: 5_000,
        timeout_secs: 5,
        ..EndpointConfig::new(base_url, "sim-model")
    })
    .unwrap()
}

#[tokio::test]
async fn a_429_then_200_is_retried_after_retry_after_and_succeeds() {
    let sim = spawn_local(SimConfig {
        faults: vec![FaultRule { trigger: Trigger::FirstN(1), kind: FaultKind::RateLimited { retry_after_secs: 1 } }],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let llm = client(sim.base_url(), 3);
    let started = Instant::now();
    let response = llm.chat(&request()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}, not the 1 s Retry-After", started.elapsed());
    assert_eq!(sim.requests(), 2);
    assert!(response.content.is_some());
    assert!(response.usage.completion_tokens > 0 && response.usage.prompt_tokens > 0);
}

#[tokio::test]
async fn exhausted_retries_are_an_error_not_content() {
    let sim = spawn_local(SimConfig {
        faults: vec![FaultRule { trigger: Trigger::FirstN(10), kind: FaultKind::ServerError }],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let err = client(sim.base_url(), 2).chat(&request()).await.unwrap_err();
    assert!(matches!(&err, LlmError::Exhausted { attempts: 3, last } if matches!(**last, LlmError::Status { status: 500, .. })), "{err}");
    assert_eq!(sim.requests(), 3);
}

#[tokio::test]
async fn malformed_bodies_are_retried_then_reported() {
    let sim = spawn_local(SimConfig {
        faults: vec![FaultRule { trigger: Trigger::FirstN(1), kind: FaultKind::MalformedJson }],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    assert!(client(sim.base_url(), 1).chat(&request()).await.is_ok());
    let sim = spawn_local(SimConfig {
        faults: vec![FaultRule { trigger: Trigger::FirstN(5), kind: FaultKind::MalformedJson }],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let err = client(sim.base_url(), 1).chat(&request()).await.unwrap_err();
    assert!(err.to_string().contains("malformed"), "{err}");
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let sim = spawn_local(SimConfig::default()).await.unwrap();
    // A wrong path answers 404: permanent, so exactly one request, and the
    // endpoint is broken for every caller.
    let llm = client(format!("{}/nope", sim.base_url()), 3);
    let err = llm.chat(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::EndpointBroken { status: 404, .. }), "{err}");
    // A 400 is one request's problem: not retried, not (yet) the endpoint's.
    let err = client(sim.base_url(), 3).chat(&ChatRequest::default()).await.unwrap_err();
    assert!(matches!(err, LlmError::Status { status: 400, .. }), "{err}");
    assert_eq!(sim.requests(), 1);
}

#[tokio::test]
async fn a_slow_endpoint_times_out_and_is_retried() {
    let sim = spawn_local(SimConfig {
        faults: vec![FaultRule { trigger: Trigger::FirstN(1), kind: FaultKind::Timeout { delay_ms: 3_000 } }],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let llm = LlmClient::new(EndpointConfig {
        max_retries: 1,
        backoff_base_ms: 1,
        timeout_secs: 1,
        ..EndpointConfig::new(sim.base_url(), "sim-model")
    })
    .unwrap();
    let started = Instant::now();
    llm.chat(&request()).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(2_900));
    assert_eq!(sim.requests(), 2);
}
