use std::time::{Duration, Instant};

use productresearch_sim_llm::{FaultKind, FaultRule, RateLimit, SimConfig, Trigger};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent::{opening, tools};
use crate::{chat, client, content_json, message, sim, with_schema};

fn faulty(rules: Vec<(Trigger, FaultKind)>) -> SimConfig {
    let faults = rules.into_iter().map(|(trigger, kind)| FaultRule { trigger, kind }).collect();
    SimConfig { faults, ..SimConfig::default() }
}

fn plan_request() -> Value {
    with_schema("plan", json!([{"role": "user", "content": "Research query: best kettle"}]))
}

#[tokio::test]
async fn rate_limit_first_request_then_succeed() {
    let sim = sim(faulty(vec![(Trigger::FirstN(1), FaultKind::RateLimited { retry_after_secs: 7 })])).await;
    let url = format!("{}/chat/completions", sim.base_url());
    let response = client().post(&url).json(&plan_request()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "rate_limit_exceeded");
    assert!(error["error"]["message"].is_string());

    let (status, completion) = chat(&sim, &plan_request()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_json(&completion)["steps"].is_array());
    assert_eq!(sim.requests(), 2);
}

#[tokio::test]
async fn a_concurrency_limit_refuses_without_retry_after_and_a_rate_limit_with_it() {
    // Two at once, each answer 300 ms: the third of three sent together is refused.
    let limit = RateLimit { requests_per_sec: None, max_concurrent: Some(2) };
    let sim = sim(SimConfig { latency_ms: 300, rate_limit: Some(limit), ..SimConfig::default() }).await;
    let url = format!("{}/chat/completions", sim.base_url());
    let send = || async { client().post(&url).json(&plan_request()).send().await.unwrap() };
    let (a, b, c) = tokio::join!(send(), send(), send());
    let mut refused: Vec<_> = [a, b, c].into_iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!(refused.len(), 1);
    let refused = refused.pop().unwrap();
    assert!(refused.headers().get("retry-after").is_none(), "a place frees whenever an answer ends");
    assert!(refused.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("at most 2 at once"));
    assert_eq!(sim.rate_limited(), 1);

    // One request a second: the second of two in a row waits for the next token.
    let limit = RateLimit { requests_per_sec: Some(1.0), max_concurrent: None };
    let sim = crate::sim(SimConfig { rate_limit: Some(limit), ..SimConfig::default() }).await;
    let url = format!("{}/chat/completions", sim.base_url());
    assert_eq!(client().post(&url).json(&plan_request()).send().await.unwrap().status(), StatusCode::OK);
    let refused = client().post(&url).json(&plan_request()).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1");
}

#[tokio::test]
async fn status_faults_follow_their_triggers() {
    let sim = sim(faulty(vec![
        (Trigger::Requests(vec![0]), FaultKind::Unavailable { retry_after_secs: Some(3) }),
        (Trigger::Requests(vec![1]), FaultKind::Unavailable { retry_after_secs: None }),
        (Trigger::EveryNth(3), FaultKind::ServerError),
        // Never reached for index 2: the rule above matches first.
        (Trigger::FirstN(3), FaultKind::RateLimited { retry_after_secs: 1 }),
    ]))
    .await;
    let url = format!("{}/chat/completions", sim.base_url());
    let mut seen = Vec::new();
    for _ in 0..6 {
        let response = client().post(&url).json(&plan_request()).send().await.unwrap();
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        seen.push((response.status().as_u16(), retry_after));
    }
    let expected = [(503, Some("3".to_owned())), (503, None), (500, None), (200, None), (200, None), (500, None)];
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn malformed_json_body() {
    let sim = sim(faulty(vec![(Trigger::FirstN(1), FaultKind::MalformedJson)])).await;
    let url = format!("{}/chat/completions", sim.base_url());
    let response = client().post(&url).json(&plan_request()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(chat(&sim, &plan_request()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn garbled_content_and_arguments() {
    let sim = sim(faulty(vec![(Trigger::FirstN(2), FaultKind::GarbledContent)])).await;
    let (status, completion) = chat(&sim, &plan_request()).await;
    assert_eq!(status, StatusCode::OK);
    let content = message(&completion)["content"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(content).is_err(), "{content}");

    let acting = json!({"model": "m", "messages": opening(), "tools": tools()});
    let (status, completion) = chat(&sim, &acting).await;
    assert_eq!(status, StatusCode::OK);
    let call = &message(&completion)["tool_calls"][0];
    assert_eq!(call["function"]["name"], "product_search");
    let arguments = call["function"]["arguments"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(arguments).is_err(), "{arguments}");

    let (_, completion) = chat(&sim, &acting).await;
    let arguments = message(&completion)["tool_calls"][0]["function"]["arguments"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(arguments).is_ok());
}

#[tokio::test]
async fn timeout_outlasts_the_client_and_shutdown_does_not_wait_for_it() {
    let sim = sim(faulty(vec![(Trigger::FirstN(1), FaultKind::Timeout { delay_ms: 30_000 })])).await;
    let url = format!("{}/chat/completions", sim.base_url());
    let impatient = client().post(&url).timeout(Duration::from_millis(300)).json(&plan_request());
    let error = impatient.send().await.expect_err("client gives up first");
    assert!(error.is_timeout(), "{error}");

    assert_eq!(chat(&sim, &plan_request()).await.0, StatusCode::OK);

    // A timed-out request still pending inside the server must not hold shutdown.
    let sim2 = crate::sim(faulty(vec![(Trigger::FirstN(1), FaultKind::Timeout { delay_ms: 30_000 })])).await;
    let url2 = format!("{}/chat/completions", sim2.base_url());
    let stuck = tokio::spawn(client().post(url2).json(&plan_request()).send());
    while sim2.requests() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    sim2.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown waited {:?}", started.elapsed());
    let _ = stuck.await;
}

#[tokio::test]
async fn latency_and_decode_speed_add_delay() {
    let sim = sim(SimConfig { latency_ms: 150, ..SimConfig::default() }).await;
    let started = Instant::now();
    assert_eq!(chat(&sim, &plan_request()).await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));

    let sim = crate::sim(SimConfig { tokens_per_sec: Some(200.0), ..SimConfig::default() }).await;
    let started = Instant::now();
    let (_, completion) = chat(&sim, &plan_request()).await;
    let tokens = completion["usage"]["completion_tokens"].as_f64().unwrap();
    assert!(started.elapsed().as_secs_f64() >= tokens / 200.0, "{tokens} tokens");

    // Both together: the decode time follows the first-token latency.
    let sim = crate::sim(SimConfig { latency_ms: 100, tokens_per_sec: Some(200.0), ..SimConfig::default() }).await;
    let started = Instant::now();
    let (_, completion) = chat(&sim, &plan_request()).await;
    let tokens = completion["usage"]["completion_tokens"].as_f64().unwrap();
    assert!(started.elapsed().as_secs_f64() >= 0.1 + tokens / 200.0, "{tokens} tokens in {:?}", started.elapsed());
    // The nominal answer time is exactly that, whatever the wall clock added.
    let nominal = sim.answer_time().as_secs_f64();
    assert!((nominal - (0.1 + tokens / 200.0)).abs() < 1e-6, "answer time {nominal} s for {tokens} tokens");
}
