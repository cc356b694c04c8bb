//! web_visit beyond the corpus: a live page from a loopback server (allowed
//! only by the test switch), read into facts + text; the default policy
//! refusing the same server; a redirect into private space refused.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use tool_gateway::web::fetch::{FetchPolicy, Fetcher, StaticResolver};
use tool_gateway::web::page_fetch::PageFetch;
use tool_gateway::{Config, Gateway, ToolErrorKind};

const PAGE: &str = r#"<html><head><title>Deco Lamp | Lamp Shop</title>
<script type="application/ld+json">{"@type":"Product","name":"Deco Lamp","brand":"Lumo","offers":{"price":"34.99","priceCurrency":"GBP","availability":"https://schema.org/InStock"}}</script></head>
<body><nav>Home | Lamps</nav><main><h1>Deco Lamp</h1><p>A warm brass lamp for reading corners, with a fabric shade and a dimmer switch.</p>
<p>The cable is 2 m long and the bulb is an E27 LED of 8 W, included in the box.</p></main><footer>Cookies</footer></body></html>"#;

async fn serve() -> SocketAddr {
    let app = Router::new()
        .route("/lamp", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }))
        .route("/gone", get(|| async { (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/html")], "no") }))
        .route(
            "/to-metadata",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "http://169.254.169.254/latest/meta-data/")]).into_response() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn gateway(fetcher: Option<Arc<dyn PageFetch>>) -> Gateway {
    let demo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo"));
    let config =
        Config { catalogs: vec![demo.join("catalog.jsonl")], web_corpus: Some(demo.join("web")), live_fetch: false, ..Config::default() };
    Gateway::load(&config).unwrap().with_fetcher(fetcher)
}

fn test_fetcher() -> Arc<dyn PageFetch> {
    let policy = FetchPolicy { allow_loopback_for_tests: true, ..FetchPolicy::default() };
    Arc::new(Fetcher::new(policy, StaticResolver::new().with("shop.test", ["127.0.0.1".parse().unwrap()])))
}

#[tokio::test]
async fn a_live_page_is_read_with_its_product_facts_first() {
    let addr = serve().await;
    let g = gateway(Some(test_fetcher()));
    let url = format!("http://shop.test:{}/lamp", addr.port());
    let outcome = g.call("web_visit", &json!({"url": url}).to_string()).await;
    assert!(!outcome.is_error(), "{outcome:?}");
    let page: Value = serde_json::from_str(&outcome.content).unwrap();
    assert_eq!(page["url"], url);
    assert_eq!(page["title"], "Deco Lamp | Lamp Shop");
    let content = page["content"].as_str().unwrap();
    assert!(content.starts_with("Product: Deco Lamp\nPrice: 34.99 GBP\nBrand: Lumo"), "{content}");
    assert!(content.contains("brass lamp") && !content.contains("Cookies"), "{content}");

    let focused = g.call("web_visit", &json!({"url": url, "goal": "bulb and cable length"}).to_string()).await;
    let page: Value = serde_json::from_str(&focused.content).unwrap();
    assert!(page["content"].as_str().unwrap().starts_with("The cable is 2 m long"), "{page}");

    let gone = g.call("web_visit", &json!({"url": format!("http://shop.test:{}/gone", addr.port())}).to_string()).await;
    assert_eq!(gone.error, Some(ToolErrorKind::NotFound), "{gone:?}");
    // A page the corpus holds never goes to the network.
    let corpus = g.call("web_visit", r#"{"url": "https://gearlab.example/one-bag-travel-backpack-guide"}"#).await;
    assert!(!corpus.is_error(), "{corpus:?}");
}

#[tokio::test]
async fn the_default_policy_refuses_loopback_and_redirects_inside() {
    let addr = serve().await;
    let default = gateway(Some(Arc::new(Fetcher::system(FetchPolicy::default()))));
    let outcome = default.call("web_visit", &json!({"url": format!("http://127.0.0.1:{}/lamp", addr.port())}).to_string()).await;
    assert_eq!(outcome.error, Some(ToolErrorKind::Policy), "{outcome:?}");
    assert!(outcome.content.contains("loopback"), "{}", outcome.content);

    let test = gateway(Some(test_fetcher()));
    let outcome = test.call("web_visit", &json!({"url": format!("http://shop.test:{}/to-metadata", addr.port())}).to_string()).await;
    assert_eq!(outcome.error, Some(ToolErrorKind::Policy), "{outcome:?}");
    assert!(outcome.content.contains("169.254.169.254") && outcome.content.contains("cloud metadata"), "{}", outcome.content);
}

#[test]
fn the_loopback_switch_is_off_by_default_and_read_from_config() {
    assert!(Config::default().live_fetch);
    assert!(!Config::default().fetch.allow_loopback_for_tests && !Config::default().fetch.allow_private);
    let policy: FetchPolicy = serde_json::from_str(r#"{"allow_loopback_for_tests": true}"#).unwrap();
    assert!(policy.allow_loopback_for_tests && !policy.allow_private);
}

/// A gateway process listening on loopback with the switch serves a page
/// from a loopback server; the switch on a non-loopback listener is refused
/// at start (checked by `Config::check_listen_address`, which `run` calls).
#[tokio::test]
async fn the_loopback_switch_from_config_reaches_a_loopback_page() {
    let addr = serve().await;
    let mut config = Config { live_fetch: true, web_corpus: None, ..Config::default() };
    config.catalogs = vec![PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/catalog.jsonl"))];
    config.fetch = serde_json::from_str(r#"{"allow_loopback_for_tests": true}"#).unwrap();
    assert!(config.check_listen_address("127.0.0.1:50054".parse().unwrap()).is_ok());
    assert!(config.check_listen_address("0.0.0.0:50054".parse().unwrap()).is_err());
    let g = Gateway::load(&config).unwrap();
    let outcome = g.call("web_visit", &json!({"url": format!("http://127.0.0.1:{}/lamp", addr.port())}).to_string()).await;
    assert!(!outcome.is_error(), "{outcome:?}");
    assert!(outcome.content.contains("Deco Lamp"), "{}", outcome.content);
}
