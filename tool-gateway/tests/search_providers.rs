//! The hosted web_search adapters against local fakes on 127.0.0.1 that check
//! the request shape (path, parameters, key header), with the middleware's
//! retry and cache seen from outside.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tool_gateway::web::middleware::MiddlewareConfig;
use tool_gateway::web::search_providers::{SearchBackendKind, WebSearchConfig};
use tool_gateway::{Config, Gateway, ToolErrorKind};

#[derive(Clone, Default)]
struct Seen {
    calls: Arc<AtomicUsize>,
}

async fn searxng(State(seen): State<Seen>, Query(q): Query<HashMap<String, String>>) -> Response {
    let n = seen.calls.fetch_add(1, Ordering::SeqCst);
    if q.get("format").map(String::as_str) != Some("json") || q.get("q").is_none_or(|q| q.is_empty()) {
        return (StatusCode::BAD_REQUEST, "want q and format=json").into_response();
    }
    // The first call fails like an overloaded instance: the middleware retries.
    if n == 0 {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(json!({"query": q["q"], "results": [
        {"url": "https://reviews.example/espresso", "title": "Best espresso machines", "content": "We tested 12 machines", "engine": "duckduckgo"},
        {"url": "https://shop.example/grinder", "title": "Burr grinders", "content": "Flat vs conical"}
    ]}))
    .into_response()
}

async fn brave(State(seen): State<Seen>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    if headers.get("x-subscription-token").and_then(|v| v.to_str().ok()) != Some("secret-key") {
        return (StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some("application/json") || q.get("count").map(String::as_str) != Some("2") {
        return (StatusCode::BAD_REQUEST, "want accept json and count").into_response();
    }
    Json(json!({"type": "search", "web": {"results": [
        {"url": "https://a.example/x", "title": "The <strong>espresso</strong> guide", "description": "Pick a <strong>grinder</strong> first &amp; then a machine"},
        {"url": "https://b.example/y", "title": "Second", "description": "More"},
        {"url": "https://c.example/z", "title": "Third", "description": "Cut by the limit"}
    ]}}))
    .into_response()
}

async fn serve(seen: Seen) -> SocketAddr {
    let app = Router::new().route("/search", get(searxng)).route("/brave/search", get(brave)).with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn config(web_search: WebSearchConfig) -> Config {
    Config { catalogs: Vec::new(), web_corpus: None, live_fetch: false, web_search, ..Config::default() }
}

fn quick() -> MiddlewareConfig {
    MiddlewareConfig { backoff_ms: 1, ..MiddlewareConfig::default() }
}

#[tokio::test]
async fn searxng_results_come_through_after_a_retry_and_are_cached() {
    let seen = Seen::default();
    let addr = serve(seen.clone()).await;
    let g = Gateway::load(&config(WebSearchConfig {
        backend: SearchBackendKind::Searxng,
        searxng_url: Some(format!("http://{addr}/")),
        middleware: quick(),
        ..WebSearchConfig::default()
    }))
    .unwrap();
    let outcome = g.call("web_search", r#"{"query": "espresso machine", "limit": 5}"#).await;
    assert!(!outcome.is_error(), "{outcome:?}");
    let r: Value = serde_json::from_str(&outcome.content).unwrap();
    assert_eq!(
        r["results"][0],
        json!({"url": "https://reviews.example/espresso", "title": "Best espresso machines", "snippet": "We tested 12 machines"})
    );
    assert_eq!(r["results"].as_array().unwrap().len(), 2);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2, "one 503, one retry");
    let again = g.call("web_search", r#"{"query": "espresso machine", "limit": 5}"#).await;
    assert_eq!(again.content, outcome.content);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2, "served from the cache");
}

#[tokio::test]
async fn brave_sends_the_key_from_a_secret_file_and_strips_markup() {
    let seen = Seen::default();
    let addr = serve(seen.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("brave-key");
    std::fs::write(&key_file, "secret-key\n").unwrap();
    let brave = |file| WebSearchConfig {
        backend: SearchBackendKind::Brave,
        brave_url: format!("http://{addr}/brave/search"),
        brave_api_key_env: "PR_TEST_BRAVE_KEY_THAT_IS_NEVER_SET".into(),
        brave_api_key_file: file,
        middleware: quick(),
        ..WebSearchConfig::default()
    };
    let g = Gateway::load(&config(brave(Some(key_file.clone())))).unwrap();
    let outcome = g.call("web_search", r#"{"query": "espresso", "limit": 2}"#).await;
    assert!(!outcome.is_error(), "{outcome:?}");
    let r: Value = serde_json::from_str(&outcome.content).unwrap();
    assert_eq!(
        r["results"][0],
        json!({"url": "https://a.example/x", "title": "The espresso guide", "snippet": "Pick a grinder first & then a machine"})
    );
    assert_eq!(r["results"].as_array().unwrap().len(), 2);

    std::fs::write(&key_file, "wrong").unwrap();
    let wrong = Gateway::load(&config(brave(Some(key_file)))).unwrap();
    let outcome = wrong.call("web_search", r#"{"query": "espresso", "limit": 2}"#).await;
    assert_eq!(outcome.error, Some(ToolErrorKind::Backend));
    assert!(outcome.content.contains("brave answered http 401"), "{}", outcome.content);

    let err = Gateway::load(&config(brave(None))).err().expect("no key is a start-up error");
    assert!(err.to_string().contains("needs an API key: set PR_TEST_BRAVE_KEY_THAT_IS_NEVER_SET"), "{err}");
}
