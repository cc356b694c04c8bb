//! TLS, mutual TLS, bearer tokens and message limits, over real gRPC on
//! 127.0.0.1 through the runtime's one server stack and its client channels.

mod common;

use common::{Pki, SERVICE, start};
use productresearch_proto::tool_gateway::v1::CallToolRequest;
use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_runtime::auth::AuthConfig;
use productresearch_runtime::client::{ClientConfig, channel};
use productresearch_runtime::server::ServerConfig;
use productresearch_runtime::tls::{ClientTls, ServerTls};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn echo(text: &str) -> CallToolRequest {
    CallToolRequest { name: "echo".into(), arguments_json: text.into(), trajectory_id: String::new() }
}

async fn call(config: &ClientConfig, text: &str) -> Result<String, tonic::Status> {
    let mut client = ToolGatewayServiceClient::new(channel("echo", config).expect("channel"));
    client.call_tool(echo(text)).await.map(|r| r.into_inner().content)
}

/// Asserts `status` is a refusal in the TLS handshake for `reason` (TLS 1.3
/// finishes the client's side of the handshake first, so a server's refusal
/// arrives as an alert on the first read).
fn assert_tls_refusal(status: tonic::Status, reason: &str) {
    assert!(matches!(status.code(), tonic::Code::Unavailable | tonic::Code::Unknown), "{status:?}");
    let chain = format!("{status:?}");
    assert!(chain.contains(reason), "expected {reason}: {chain}");
}

fn client(url: String, tls: ClientTls) -> ClientConfig {
    ClientConfig { tls, ..ClientConfig::single(url) }
}

struct Mtls {
    _dir: tempfile::TempDir,
    ca: Pki,
    server: ServerTls,
    client: ClientTls,
}

fn mtls() -> Mtls {
    let dir = tempfile::tempdir().unwrap();
    let ca = Pki::new(dir.path(), "mesh");
    let server_leaf = ca.leaf("server");
    let client_leaf = ca.leaf("client");
    let server = ServerTls {
        cert_file: Some(server_leaf.cert_file),
        key_file: Some(server_leaf.key_file),
        client_ca_file: Some(ca.ca_file.clone()),
    };
    let client = ClientTls {
        ca_file: Some(ca.ca_file.clone()),
        cert_file: Some(client_leaf.cert_file),
        key_file: Some(client_leaf.key_file),
        domain_name: None,
    };
    Mtls { _dir: dir, ca, server, client }
}

#[tokio::test]
async fn mutual_tls_call_succeeds() {
    let m = mtls();
    let server = start(ServerConfig { tls: m.server.clone(), ..Default::default() }).await;
    let url = format!("https://localhost:{}", server.addr.port());
    assert_eq!(call(&client(url, m.client.clone()), "over mtls").await.unwrap(), "over mtls");
    // By IP too: the leaf carries 127.0.0.1 as a SAN.
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    assert_eq!(call(&client(url, m.client.clone()), "by ip").await.unwrap(), "by ip");
    drop(server.stop);
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let m = mtls();
    let server = start(ServerConfig { tls: m.server.clone(), ..Default::default() }).await;
    let url = format!("https://localhost:{}", server.addr.port());
    let no_cert = ClientTls { cert_file: None, key_file: None, ..m.client.clone() };
    assert_tls_refusal(call(&client(url, no_cert), "x").await.unwrap_err(), "CertificateRequired");
    // Plaintext to the TLS port fails as well.
    let status = call(&ClientConfig::single(format!("http://127.0.0.1:{}", server.addr.port())), "x").await.unwrap_err();
    assert_ne!(status.code(), tonic::Code::Ok);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_both_ways() {
    let m = mtls();
    let server = start(ServerConfig { tls: m.server.clone(), ..Default::default() }).await;
    let url = format!("https://localhost:{}", server.addr.port());
    let dir = tempfile::tempdir().unwrap();
    let rogue = Pki::new(dir.path(), "rogue");
    let rogue_leaf = rogue.leaf("rogue-client");
    // The client presents a certificate the server's CA did not sign.
    let foreign_client = ClientTls { cert_file: Some(rogue_leaf.cert_file), key_file: Some(rogue_leaf.key_file), ..m.client.clone() };
    assert_tls_refusal(call(&client(url.clone(), foreign_client), "x").await.unwrap_err(), "UnknownCA");
    // The client trusts another CA than the one that signed the server.
    let wrong_trust = ClientTls { ca_file: Some(rogue.ca_file.clone()), ..m.client.clone() };
    assert_tls_refusal(call(&client(url.clone(), wrong_trust), "x").await.unwrap_err(), "UnknownIssuer");
    // And the right pair still works on the same server.
    assert_eq!(call(&client(url, m.client.clone()), "ok").await.unwrap(), "ok");
    let _ = &m.ca;
}

#[tokio::test]
async fn tls_settings_and_schemes_must_agree() {
    let m = mtls();
    let err = channel("echo", &client("http://127.0.0.1:1".into(), m.client.clone())).unwrap_err().to_string();
    assert!(err.contains("must be https://"), "{err}");
    let err = channel("echo", &ClientConfig::single("https://127.0.0.1:1")).unwrap_err().to_string();
    assert!(err.contains("tls.ca_file"), "{err}");
}

#[tokio::test]
async fn probes_use_a_plaintext_health_port_while_the_api_needs_mtls() {
    let m = mtls();
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let probe_addr = probe.local_addr().unwrap();
    drop(probe);
    let server = start(ServerConfig { tls: m.server.clone(), health_listen: Some(probe_addr.to_string()), ..Default::default() }).await;
    // The API port is reachable over mTLS (this also waits until serve() bound the probe port).
    let url = format!("https://localhost:{}", server.addr.port());
    assert_eq!(call(&client(url, m.client.clone()), "up").await.unwrap(), "up");
    let health = tonic::transport::Endpoint::from_shared(format!("http://{probe_addr}")).unwrap().connect().await.unwrap();
    let status = HealthClient::new(health).check(HealthCheckRequest { service: SERVICE.into() }).await.unwrap().into_inner().status;
    assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}

fn token_server_config(dir: &std::path::Path) -> ServerConfig {
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "# two tokens overlap during a rotation\nold-token-1234\nnew-token-5678\n").unwrap();
    ServerConfig { auth: AuthConfig { bearer_tokens_file: Some(tokens), bearer_tokens_env: None }, ..Default::default() }
}

#[tokio::test]
async fn bearer_tokens_guard_every_call_but_health() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(token_server_config(dir.path())).await;
    let url = format!("http://127.0.0.1:{}", server.addr.port());

    let status = call(&ClientConfig::single(url.clone()), "x").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");

    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "new-token-5679\n").unwrap();
    let with_wrong = ClientConfig { bearer_token_file: Some(wrong), ..ClientConfig::single(url.clone()) };
    let status = call(&with_wrong, "x").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert!(!status.message().contains("5679") && !status.message().contains("5678"), "{}", status.message());

    let right = dir.path().join("right");
    std::fs::write(&right, "new-token-5678\n").unwrap();
    let with_right = ClientConfig { bearer_token_file: Some(right), ..ClientConfig::single(url.clone()) };
    assert_eq!(call(&with_right, "authorized").await.unwrap(), "authorized");

    // Health stays open for kubelet probes.
    let health = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let status = HealthClient::new(health).check(HealthCheckRequest { service: SERVICE.into() }).await.unwrap().into_inner().status;
    assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}

#[tokio::test]
async fn a_server_with_an_empty_token_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "\n").unwrap();
    let server =
        start(ServerConfig { auth: AuthConfig { bearer_tokens_file: Some(tokens), bearer_tokens_env: None }, ..Default::default() }).await;
    let err = server.task.await.unwrap().unwrap_err().to_string();
    assert!(err.contains("holds no token"), "{err}");
}

#[tokio::test]
async fn oversized_messages_are_resource_exhausted_both_ways() {
    let limit = 64 * 1024;
    let server = start(ServerConfig { max_message_bytes: limit, ..Default::default() }).await;
    let url = format!("http://127.0.0.1:{}", server.addr.port());
    let mut client = ToolGatewayServiceClient::new(channel("echo", &ClientConfig::single(url)).unwrap())
        .max_encoding_message_size(usize::MAX)
        .max_decoding_message_size(usize::MAX);

    // Within the limit: fine.
    let small = "z".repeat(limit / 2);
    assert_eq!(client.call_tool(echo(&small)).await.unwrap().into_inner().content.len(), limit / 2);

    // A request over the limit.
    let status = client.call_tool(echo(&"z".repeat(limit * 4))).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("max_message_bytes"), "{}", status.message());

    // A response over the limit.
    let big = CallToolRequest { name: "big".into(), arguments_json: (limit * 2).to_string(), trajectory_id: String::new() };
    let status = client.call_tool(big).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");

    // The server keeps serving after both.
    assert_eq!(client.call_tool(echo("still up")).await.unwrap().into_inner().content, "still up");
}

#[tokio::test]
async fn a_resolving_channel_reaches_the_server_by_name_over_mtls() {
    let m = mtls();
    let server = start(ServerConfig { tls: m.server.clone(), ..Default::default() }).await;
    // `localhost` may resolve to ::1 as well, where nothing listens: the
    // balancer must route around that address.
    let config = ClientConfig { dns_refresh_secs: 1, ..client(format!("https://localhost:{}", server.addr.port()), m.client.clone()) };
    for i in 0..5 {
        assert_eq!(call(&config, &format!("call {i}")).await.unwrap(), format!("call {i}"));
    }
    let two = ClientConfig { dns_refresh_secs: 1, endpoints: vec!["http://a:1".into(), "http://b:1".into()], ..ClientConfig::default() };
    assert!(channel("echo", &two).unwrap_err().to_string().contains("exactly one endpoint"));
}
