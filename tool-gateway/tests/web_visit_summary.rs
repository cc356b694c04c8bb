//! web_visit's goal-directed summary through the model client, against the
//! simulated model on loopback (it echoes what it was asked, so the test sees
//! exactly what the gateway sent).

use std::path::PathBuf;

use productresearch_llm::EndpointConfig;
use serde_json::Value;
use tool_gateway::{Config, Gateway};

#[tokio::test]
async fn a_goal_gets_the_models_summary_and_no_goal_the_page() {
    let sim = productresearch_sim_llm::spawn_local(productresearch_sim_llm::SimConfig::default()).await.unwrap();
    let demo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo"));
    let config = Config {
        catalogs: vec![demo.join("catalog.jsonl")],
        web_corpus: Some(demo.join("web")),
        live_fetch: false,
        visit_summary: Some(EndpointConfig::new(sim.base_url(), "sim-model")),
        ..Config::default()
    };
    let gateway = Gateway::load(&config).unwrap();
    let url = "https://reviews.example/best-noise-cancelling-headphones-2026";

    let summarized =
        gateway.call("web_visit", &serde_json::json!({"url": url, "goal": "lightest pair for long flights"}).to_string()).await;
    assert!(!summarized.is_error(), "{summarized:?}");
    let page: Value = serde_json::from_str(&summarized.content).unwrap();
    assert_eq!(page["summarized_for_goal"], true);
    let content = page["content"].as_str().unwrap();
    assert!(content.starts_with("This is a simulated model. You asked: Goal: lightest pair for long flights Page title:"), "{content}");

    let plain = gateway.call("web_visit", &serde_json::json!({"url": url}).to_string()).await;
    let page: Value = serde_json::from_str(&plain.content).unwrap();
    assert!(page.get("summarized_for_goal").is_none());
    assert!(page["content"].as_str().unwrap().starts_with("# The best noise cancelling headphones of 2026"));

    // A model that is down leaves the page text in place.
    sim.shutdown().await;
    let fallback = gateway.call("web_visit", &serde_json::json!({"url": url, "goal": "battery life"}).to_string()).await;
    assert!(!fallback.is_error(), "{fallback:?}");
    let page: Value = serde_json::from_str(&fallback.content).unwrap();
    assert!(page.get("summarized_for_goal").is_none(), "{page}");
}
