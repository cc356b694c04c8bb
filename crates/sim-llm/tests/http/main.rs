//! Real HTTP over loopback against a spawned simulator, through reqwest like the agents' client.

mod agent;
mod endpoints;
mod faults;
mod research;
mod roles;
mod text_form;

use productresearch_sim_llm::{SimConfig, SimHandle, spawn_local};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub fn client() -> reqwest::Client {
    // reqwest is built with `rustls-no-provider`; plain http needs no TLS, but building a
    // client may still ask for a process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub async fn sim(config: SimConfig) -> SimHandle {
    spawn_local(config).await.expect("spawn simulator")
}

/// POSTs a chat completion; the status and the parsed JSON body.
pub async fn chat(sim: &SimHandle, body: &Value) -> (StatusCode, Value) {
    let response = client().post(format!("{}/chat/completions", sim.base_url())).json(body).send().await.expect("send");
    let status = response.status();
    let body = response.json::<Value>().await.expect("json body");
    (status, body)
}

/// The assistant message of a successful completion.
pub fn message(completion: &Value) -> &Value {
    &completion["choices"][0]["message"]
}

/// The content of a successful completion, parsed as JSON.
pub fn content_json(completion: &Value) -> Value {
    let text = message(completion)["content"].as_str().expect("string content");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("content is not JSON ({e}): {text}"))
}

pub fn with_schema(name: &str, messages: Value) -> Value {
    json!({
        "model": "test-model",
        "messages": messages,
        "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": {"type": "object"}, "strict": true}},
        "temperature": 0.7,
    })
}
