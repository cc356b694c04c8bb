use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use productresearch_sim_llm::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{chat, client, message, sim};

#[tokio::test]
async fn health_and_models() {
    let config = SimConfig { model: "tiny-sim".into(), context_length: 4096, ..SimConfig::default() };
    let sim = sim(config).await;
    let health: Value = client().get(format!("http://{}/health", sim.addr())).send().await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"status": "ok"}));

    let response = client().get(format!("{}/models", sim.base_url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let models: Value = response.json().await.unwrap();
    assert_eq!(
        models,
        json!({"object": "list", "data": [{"id": "tiny-sim", "object": "model", "owned_by": "sim", "context_length": 4096}]})
    );
    assert!(sim.base_url().starts_with("http://127.0.0.1:") && sim.base_url().ends_with("/v1"));
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_bodies_get_openai_400s_and_are_counted() {
    let sim = sim(SimConfig::default()).await;
    let url = format!("{}/chat/completions", sim.base_url());
    let bad = [
        "{not json".to_owned(),
        json!({"model": "m"}).to_string(),
        json!({"model": "m", "messages": []}).to_string(),
        json!({"model": "m", "messages": [{"content": "no role"}]}).to_string(),
    ];
    for body in &bad {
        let response = client().post(&url).header("content-type", "application/json").body(body.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(sim.requests(), bad.len() as u64);

    let missing = client().get(format!("{}/embeddings", sim.base_url())).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn envelope_is_a_standard_chat_completion() {
    let sim = sim(SimConfig::default()).await;
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": [{"type": "text", "text": "What is a good kettle?"}]}
        ],
        "max_tokens": 100,
        "stream_options": null,
        "some_future_field": {"x": 1}
    });
    let (status, completion) = chat(&sim, &body).await;
    assert_eq!(status, StatusCode::OK, "{completion}");
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["model"], "gpt-4o-mini");
    assert!(completion["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(completion["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(completion["choices"][0]["index"], 0);
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(message(&completion)["role"], "assistant");
    let text = message(&completion)["content"].as_str().unwrap();
    assert!(text.contains("What is a good kettle?"), "{text}");

    let usage = &completion["usage"];
    let prompt_chars = "You are helpful.".len() + "What is a good kettle?".len();
    assert_eq!(usage["prompt_tokens"].as_u64().unwrap(), prompt_chars.div_ceil(4) as u64);
    assert_eq!(usage["completion_tokens"].as_u64().unwrap(), text.chars().count().div_ceil(4) as u64);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );

    let (_, again) = chat(&sim, &body).await;
    assert_eq!(message(&again), message(&completion), "answers are deterministic");
    assert_eq!(sim.requests(), 2);
}

#[test]
fn binary_prints_its_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-llm"))
        .args(["--latency-ms", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sim-llm");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("sim-llm listening on ").expect("listening line").to_owned();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"), "{line}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let models: Value = runtime.block_on(async { client().get(format!("{base}/models")).send().await.unwrap().json().await.unwrap() });
    assert_eq!(models["data"][0]["id"], "sim-model");
    child.kill().unwrap();
    child.wait().unwrap();
}
