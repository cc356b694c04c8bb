//! Starts the real local model (only when `scripts/setup-model.sh` has run), sends one real
//! chat completion, stops it and checks the port is closed. Without the setup it prints why
//! it skipped; CI runs the setup first, so there it really runs.

use std::path::PathBuf;
use std::time::Instant;

use productresearch_local_model::{LocalModel, LocalModelConfig, LocalModelError, MODELS_DIR_ENV};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Tests run in the crate dir, so point the default relative paths at the workspace root.
fn config() -> LocalModelConfig {
    let root = workspace_root();
    let models_dir = std::env::var_os(MODELS_DIR_ENV).filter(|v| !v.is_empty()).map_or_else(|| root.join(".models"), PathBuf::from);
    LocalModelConfig { models_dir, script: Some(root.join("scripts/serve_model.py")), ..LocalModelConfig::default() }
}

fn http_client() -> reqwest::Client {
    // reqwest is built with `rustls-no-provider`; the project installs ring at start-up
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_model_answers_a_chat_completion() {
    let config = config();
    let located = match LocalModel::locate(&config) {
        Ok(located) => located,
        Err(e @ LocalModelError::NotSetUp { .. }) => {
            let LocalModelError::NotSetUp { missing } = &e else { unreachable!() };
            assert!(
                std::env::var_os("PRODUCTRESEARCH_REQUIRE_LOCAL_MODEL").is_none(),
                "PRODUCTRESEARCH_REQUIRE_LOCAL_MODEL is set but {e}"
            );
            println!("skipped real_model_answers_a_chat_completion: {e} (missing {})", missing.display());
            return;
        }
        Err(e) => panic!("locate failed: {e}"),
    };

    let t0 = Instant::now();
    let model = LocalModel::start(located, &config).await.expect("start the real model server");
    let startup = t0.elapsed();
    assert!(model.base_url().starts_with("http://127.0.0.1:"), "{}", model.base_url());
    assert!(model.base_url().ends_with("/v1"));
    assert!(!model.model().is_empty());
    assert_eq!(model.context_length(), Some(config.ctx_size));
    let port = model.port();

    let http = http_client();
    let body = serde_json::json!({
        "model": model.model(),
        "messages": [{"role": "user", "content": "Say hi"}],
        "max_tokens": 8,
    });
    let t1 = Instant::now();
    let resp = http.post(format!("{}/chat/completions", model.base_url())).json(&body).send().await.expect("chat completion");
    let latency = t1.elapsed();
    assert_eq!(resp.status(), 200);
    let answer: serde_json::Value = resp.json().await.unwrap();
    let content = answer["choices"][0]["message"]["content"].as_str().unwrap_or_default();
    let completion_tokens = answer["usage"]["completion_tokens"].as_u64().unwrap_or(0);
    assert!(!content.trim().is_empty(), "empty answer: {answer}");
    assert!(completion_tokens > 0, "no completion tokens: {answer}");
    println!(
        "real model {} at {}: startup {:.2} s, 'Say hi' answered {:?} ({} tokens) in {:.2} s",
        model.model(),
        model.base_url(),
        startup.as_secs_f64(),
        content,
        completion_tokens,
        latency.as_secs_f64()
    );

    // The report request's sampling (DRY and the prose grammar) is accepted,
    // and an answer asked for as a JSON call still opens as prose.
    let mut body = serde_json::json!({
        "model": model.model(),
        "messages": [{"role": "user", "content": "Answer only with this JSON: {\"tool\": \"web_search\", \"arguments\": {\"query\": \"kettle\"}}"}],
        "max_tokens": 24,
        "temperature": 0.2,
    });
    body.as_object_mut().unwrap().extend(config.report_sampling.clone());
    let resp = http.post(format!("{}/chat/completions", model.base_url())).json(&body).send().await.expect("chat completion");
    assert_eq!(resp.status(), 200, "the report sampling fields were refused");
    let answer: serde_json::Value = resp.json().await.unwrap();
    let content = answer["choices"][0]["message"]["content"].as_str().unwrap_or_default();
    assert!(!content.is_empty() && !content.starts_with(['{', '[', '`', '<']), "{answer}");

    let t2 = Instant::now();
    model.stop().await.expect("stop");
    println!("stopped in {:.2} s", t2.elapsed().as_secs_f64());
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(connect.is_err(), "port {port} still open after stop");
}
