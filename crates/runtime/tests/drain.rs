//! Shutdown: NOT_SERVING first, new calls still accepted for the drain delay,
//! then the listener closes.

mod common;

use std::time::{Duration, Instant};

use common::{SERVICE, start};
use productresearch_proto::tool_gateway::v1::CallToolRequest;
use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_runtime::server::ServerConfig;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn echo_on_new_connection(addr: std::net::SocketAddr) -> Result<String, String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.map_err(|e| e.to_string())?;
    let req = CallToolRequest { name: "echo".into(), arguments_json: "still here".into(), ..Default::default() };
    ToolGatewayServiceClient::new(channel).call_tool(req).await.map(|r| r.into_inner().content).map_err(|e| e.to_string())
}

/// A server whose health listener takes a port found free just before. In a
/// full workspace run another test's socket can take that port in between
/// (the server then stops at once, its health bind refused, and the first
/// call failed with "transport error"), so such a start is tried again.
async fn start_with_health_port(delay: u64) -> (common::Running, std::net::SocketAddr) {
    for _ in 0..5 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let probe_addr = probe.local_addr().unwrap();
        drop(probe);
        let server =
            start(ServerConfig { health_listen: Some(probe_addr.to_string()), drain_delay_secs: delay, ..Default::default() }).await;
        match echo_on_new_connection(server.addr).await {
            Ok(echo) => {
                assert_eq!(echo, "still here");
                return (server, probe_addr);
            }
            Err(e) => match server.task.await.unwrap() {
                Err(productresearch_runtime::server::ServeError::HealthListen { .. }) => continue,
                ended => panic!("the server refused a call ({e}) and ended with {ended:?}"),
            },
        }
    }
    panic!("no free port for the health listener in 5 tries");
}

#[tokio::test]
async fn not_serving_then_drain_delay_then_close() {
    let delay = 3;
    let (server, probe_addr) = start_with_health_port(delay).await;
    let health = tonic::transport::Endpoint::from_shared(format!("http://{probe_addr}")).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(health);

    let signalled = Instant::now();
    server.stop.send(()).unwrap();
    loop {
        let status = health.check(HealthCheckRequest { service: SERVICE.into() }).await.unwrap().into_inner().status;
        if status == ServingStatus::NotServing as i32 {
            break;
        }
        assert!(signalled.elapsed() < Duration::from_secs(delay), "still SERVING after the signal");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Draining: a caller that has not seen NOT_SERVING yet still gets through.
    assert_eq!(echo_on_new_connection(server.addr).await.unwrap(), "still here");
    assert!(signalled.elapsed() < Duration::from_secs(delay), "the check above ran after the drain delay");

    tokio::time::timeout(Duration::from_secs(30), server.task).await.expect("server stops after the delay").unwrap().unwrap();
    assert!(signalled.elapsed() >= Duration::from_secs(delay), "closed before the drain delay: {:?}", signalled.elapsed());
    assert!(echo_on_new_connection(server.addr).await.is_err(), "the listener is closed");
}
