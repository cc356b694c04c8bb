//! No secret ever reaches a log line, a span or an error message.
//!
//! Plants an API key (in the environment, used by the model client against the
//! simulated model, which is made to fail), bearer tokens (accepted and
//! presented wrong), and a TLS key, runs the calls that touch them with every
//! log and span event of every crate captured at TRACE level, and greps the
//! capture and every error message for the planted values.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Pki, start};
use productresearch_llm::{ChatRequest, EndpointConfig, LlmClient, Message};
use productresearch_proto::tool_gateway::v1::CallToolRequest;
use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_runtime::auth::AuthConfig;
use productresearch_runtime::client::{ClientConfig, channel};
use productresearch_runtime::server::ServerConfig;
use productresearch_runtime::tls::{ClientTls, ServerTls};
use productresearch_sim_llm::{FaultKind, FaultRule, SimConfig, Trigger};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const API_KEY: &str = "sk-planted-api-key-6b1f0e9d";
const API_KEY_VAR: &str = "PR_SECRETS_TEST_API_KEY";
const ACCEPTED_TOKEN: &str = "planted-accepted-token-a41c";
const WRONG_TOKEN: &str = "planted-wrong-token-93d2";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_appear_in_no_log_span_or_error() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Everything, from every crate (rustls, h2, hyper, reqwest, tonic), with span fields.
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
                .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
        )
        .try_init()
        .expect("the only subscriber of this test binary");
    // SAFETY: set before any other thread of this test reads the environment.
    unsafe { std::env::set_var(API_KEY_VAR, API_KEY) };
    let mut errors: Vec<String> = Vec::new();

    // 1. The API key: the model fails (500, then malformed), the client retries and reports.
    let sim = productresearch_sim_llm::spawn_local(SimConfig {
        faults: vec![FaultRule { trigger: Trigger::FirstN(100), kind: FaultKind::ServerError }],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let llm = LlmClient::new(EndpointConfig {
        api_key_env: Some(API_KEY_VAR.into()),
        max_retries: 1,
        ..EndpointConfig::new(sim.base_url(), "sim-model")
    })
    .unwrap();
    let err = llm.chat(&ChatRequest { messages: vec![Message::user("hello")], ..Default::default() }).await.unwrap_err();
    errors.push(err.to_string());
    errors.push(format!("{err:?}"));
    sim.shutdown().await;

    // 2. Bearer tokens, over mutual TLS: a wrong one, none, the right one.
    let dir = tempfile::tempdir().unwrap();
    let ca = Pki::new(dir.path(), "mesh");
    let server_leaf = ca.leaf("server");
    let client_leaf = ca.leaf("client");
    let key_pem = std::fs::read_to_string(&server_leaf.key_file).unwrap();
    let tokens_file = dir.path().join("tokens");
    std::fs::write(&tokens_file, format!("{ACCEPTED_TOKEN}\n")).unwrap();
    let server = start(ServerConfig {
        tls: ServerTls {
            cert_file: Some(server_leaf.cert_file.clone()),
            key_file: Some(server_leaf.key_file.clone()),
            client_ca_file: Some(ca.ca_file.clone()),
        },
        auth: AuthConfig { bearer_tokens_file: Some(tokens_file), bearer_tokens_env: None },
        ..Default::default()
    })
    .await;
    let tls = ClientTls {
        ca_file: Some(ca.ca_file.clone()),
        cert_file: Some(client_leaf.cert_file.clone()),
        key_file: Some(client_leaf.key_file.clone()),
        domain_name: None,
    };
    let url = format!("https://localhost:{}", server.addr.port());
    for token in [Some(WRONG_TOKEN), None, Some(ACCEPTED_TOKEN)] {
        let token_file = dir.path().join("client-token");
        let config = ClientConfig {
            tls: tls.clone(),
            bearer_token_file: token.map(|t| {
                std::fs::write(&token_file, t).unwrap();
                token_file.clone()
            }),
            ..ClientConfig::single(url.clone())
        };
        let ch = channel("echo", &config).unwrap();
        errors.push(format!("{ch:?}"));
        let result = ToolGatewayServiceClient::new(ch)
            .call_tool(CallToolRequest { name: "echo".into(), arguments_json: "{}".into(), trajectory_id: String::new() })
            .await;
        match (token, result) {
            (Some(ACCEPTED_TOKEN), Ok(_)) => {}
            (Some(ACCEPTED_TOKEN), Err(s)) => panic!("the accepted token was refused: {s:?}"),
            (_, Ok(_)) => panic!("a call without the accepted token went through"),
            (_, Err(s)) => {
                assert_eq!(s.code(), tonic::Code::Unauthenticated);
                errors.push(format!("{s:?}"));
            }
        }
    }
    // The env source's error names the variable, not a value.
    let err = AuthConfig { bearer_tokens_file: None, bearer_tokens_env: Some("PR_SECRETS_TEST_UNSET".into()) }.load().unwrap_err();
    errors.push(err.to_string());

    // 3. The TLS key: a server given a certificate that does not match... a key
    // file with garbage between valid PEM markers fails with the file's name only.
    let broken_key = dir.path().join("broken.key");
    std::fs::write(&broken_key, key_pem.replace("PRIVATE KEY-----\n", "PRIVATE KEY-----\n!")).unwrap();
    let broken = start(ServerConfig {
        tls: ServerTls { cert_file: Some(server_leaf.cert_file.clone()), key_file: Some(broken_key), client_ca_file: None },
        ..Default::default()
    })
    .await;
    errors.push(broken.task.await.unwrap().unwrap_err().to_string());
    drop(server.stop);
    server.task.await.unwrap().unwrap();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("refused a call without a valid bearer token"), "the capture works and saw the refusals");
    assert!(logs.contains("grpc.server"), "spans were captured");
    // The key's base64 body, line by line (any line would be a leak).
    let key_lines: Vec<&str> = key_pem.lines().filter(|l| !l.starts_with("-----") && l.len() > 16).collect();
    assert!(!key_lines.is_empty());
    for (what, text) in std::iter::once(("logs", &logs)).chain(errors.iter().map(|e| ("error", e))) {
        for secret in [API_KEY, ACCEPTED_TOKEN, WRONG_TOKEN].iter().chain(key_lines.iter()) {
            assert!(!text.contains(secret), "{what} leaks a planted secret ({secret}): {text}");
        }
    }
}
