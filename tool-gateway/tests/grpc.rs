//! The real gRPC server on a loopback port, driven through the generated client.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_proto::tool_gateway::v1::{CallToolRequest, CallToolResponse, ListToolsRequest, ToolErrorKind};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tool_gateway::Config;

fn demo_config() -> Config {
    let demo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo"));
    Config { catalogs: vec![demo.join("catalog.jsonl")], web_corpus: Some(demo.join("web")), live_fetch: false, ..Config::default() }
}

/// Connects and waits until the service answers: the listener is bound before
/// the catalog is indexed, so readiness is the first successful call.
async fn ready_client(addr: SocketAddr) -> ToolGatewayServiceClient<Channel> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut backoff = Duration::from_millis(10);
    loop {
        if let Ok(mut client) = ToolGatewayServiceClient::connect(format!("http://{addr}")).await
            && client.list_tools(ListToolsRequest {}).await.is_ok()
        {
            return client;
        }
        assert!(Instant::now() < deadline, "tool gateway at {addr} never became ready");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}

async fn call(client: &mut ToolGatewayServiceClient<Channel>, name: &str, args: Value) -> CallToolResponse {
    let request = CallToolRequest { name: name.into(), arguments_json: args.to_string(), trajectory_id: "traj-test-1".into() };
    client.call_tool(request).await.expect("CallTool is not a gRPC error").into_inner()
}

fn content(response: &CallToolResponse) -> Value {
    assert!(!response.is_error, "{response:?}");
    assert_eq!(response.error_kind, ToolErrorKind::Unspecified as i32);
    serde_json::from_str(&response.content).expect("tool content is JSON")
}

#[tokio::test]
async fn serves_the_four_tools_over_grpc() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(tool_gateway::run(demo_config(), listener, async {
        let _ = stopped.await;
    }));
    let mut client = ready_client(addr).await;

    let tools = client.list_tools(ListToolsRequest {}).await.unwrap().into_inner().tools;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["product_search", "visit_product", "web_search", "web_visit"]);
    for tool in &tools {
        assert!(!tool.description.is_empty());
        let schema: Value = serde_json::from_str(&tool.parameters_json_schema).unwrap();
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert!(schema["required"].as_array().is_some_and(|r| !r.is_empty()), "{}", tool.name);
    }

    let search = content(&call(&mut client, "product_search", json!({"query": "espresso machine with grinder", "limit": 3})).await);
    let results = search["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["product_id"].as_str().unwrap().starts_with("cm-")), "{search}");
    let first_id = results[0]["product_id"].as_str().unwrap().to_string();

    let product = content(&call(&mut client, "visit_product", json!({"product_id": first_id, "goal": "milk steaming"})).await);
    assert_eq!(product["product_id"], first_id.as_str());
    assert!(product["reviews"].as_array().is_some_and(|r| !r.is_empty()));

    let pages = content(&call(&mut client, "web_search", json!({"query": "trail running shoes waterproof"})).await);
    let url = pages["results"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(url, "https://runnersdigest.example/trail-running-shoes-guide");

    let page = content(&call(&mut client, "web_visit", json!({"url": url})).await);
    assert!(page["content"].as_str().unwrap().contains("Trailhawk Ridge GTX"));

    let unknown = call(&mut client, "google_search", json!({"query": "x"})).await;
    assert!(unknown.is_error);
    assert_eq!(unknown.error_kind, ToolErrorKind::UnknownTool as i32);
    assert!(unknown.content.contains("product_search, visit_product, web_search, web_visit"), "{}", unknown.content);

    let invalid = call(&mut client, "product_search", json!({})).await;
    assert!(invalid.is_error);
    assert_eq!(invalid.error_kind, ToolErrorKind::InvalidArguments as i32);
    assert_eq!(invalid.content, "missing required argument \"query\"");

    let missing = call(&mut client, "visit_product", json!({"product_id": "zz-000"})).await;
    assert_eq!(missing.error_kind, ToolErrorKind::NotFound as i32);

    stop.send(()).unwrap();
    server.await.unwrap().expect("clean shutdown");
}

#[tokio::test]
async fn a_missing_catalog_stops_start_up_with_one_line() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config { catalogs: vec![PathBuf::from("demo/x.jsonl")], web_corpus: None, ..Config::default() };
    let err = tool_gateway::run(config, listener, std::future::pending()).await.unwrap_err();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(err.to_string(), format!("catalog demo/x.jsonl: no such file (relative to the working directory {})", cwd.display()));
}
