//! A recorded run replays to identical tool results from the store alone: the
//! replaying gateway has no catalog, no corpus and no way to fetch, and the
//! page server is gone.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use serde_json::Value;
use tool_gateway::tools::store::ToolsMode;
use tool_gateway::web::fetch::{FetchPolicy, Fetcher, StaticResolver};
use tool_gateway::{Config, Gateway, ToolErrorKind};

#[tokio::test]
async fn a_replayed_run_gives_identical_tool_results() {
    let app = Router::new().route(
        "/review",
        get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html><head><title>Kettle review</title></head><body><p>It boils a litre in ninety seconds and stays quiet.</p></body></html>") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let demo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo"));
    let store = tempfile::tempdir().unwrap();
    let record = Config {
        catalogs: vec![demo.join("catalog.jsonl")],
        web_corpus: Some(demo.join("web")),
        live_fetch: false,
        tools_mode: ToolsMode::Record,
        tool_store: Some(store.path().to_path_buf()),
        ..Config::default()
    };
    let policy = FetchPolicy { allow_loopback_for_tests: true, ..FetchPolicy::default() };
    let fetcher = Fetcher::new(policy, StaticResolver::new().with("kettles.test", ["127.0.0.1".parse().unwrap()]));
    let recorder = Gateway::load(&record).unwrap().with_fetcher(Some(Arc::new(fetcher)));
    let calls = [
        ("product_search", r#"{"query": "noise cancelling headphones", "max_price": 300}"#.to_string()),
        ("visit_product", r#"{"product_id": "hp-001", "goal": "battery"}"#.to_string()),
        ("web_search", r#"{"query": "espresso grinder"}"#.to_string()),
        ("web_visit", r#"{"url": "https://gearlab.example/one-bag-travel-backpack-guide"}"#.to_string()),
        ("web_visit", format!(r#"{{"url": "http://kettles.test:{port}/review"}}"#)),
        ("visit_product", r#"{"product_id": "nope"}"#.to_string()),
    ];
    let mut recorded = Vec::new();
    for (tool, args) in &calls {
        recorded.push(recorder.call(tool, args).await);
    }
    assert!(recorded[4].content.contains("ninety seconds"), "{:?}", recorded[4]);
    assert_eq!(recorded[5].error, Some(ToolErrorKind::NotFound));
    server.abort();

    let objects: Vec<Value> = std::fs::read_dir(store.path().join("objects"))
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(objects.len(), calls.len());
    let mut backends: Vec<&str> = objects.iter().map(|o| o["backend"].as_str().unwrap()).collect();
    backends.sort();
    assert_eq!(backends, vec!["catalog", "catalog", "catalog", "corpus", "corpus", "live"]);
    assert!(objects.iter().all(|o| o["recorded_at_unix_ms"].as_u64().unwrap() > 0 && o["arguments"].is_object()));

    let replay = Config {
        catalogs: Vec::new(),
        web_corpus: None,
        live_fetch: false,
        tools_mode: ToolsMode::Replay,
        tool_store: Some(store.path().to_path_buf()),
        ..Config::default()
    };
    let replayer = Gateway::load(&replay).unwrap();
    assert_eq!(replayer.product_count(), 0);
    for ((tool, args), want) in calls.iter().zip(&recorded) {
        // Same request, keys in another order and other spacing.
        let reordered: Value = serde_json::from_str(args).unwrap();
        let got = replayer.call(tool, &serde_json::to_string_pretty(&reordered).unwrap()).await;
        assert_eq!(&got, want, "{tool} {args}");
    }
    let missing = replayer.call("product_search", r#"{"query": "kettle"}"#).await;
    assert_eq!(missing.error, Some(ToolErrorKind::Backend));
    assert!(missing.content.contains("no recorded response"), "{}", missing.content);
}

#[test]
fn record_and_replay_need_a_store() {
    let config = Config { tools_mode: ToolsMode::Replay, tool_store: None, ..Config::default() };
    assert!(config.validate().unwrap_err().to_string().contains("needs tool_store"));
}
