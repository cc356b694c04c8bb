//! Shared by the runtime's security tests: a certificate authority made in the
//! test, and a small gRPC service served through the runtime's real stack.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use productresearch_proto::tool_gateway::v1::tool_gateway_service_server::{ToolGatewayService, ToolGatewayServiceServer};
use productresearch_proto::tool_gateway::v1::{CallToolRequest, CallToolResponse, ListToolsRequest, ListToolsResponse};
use productresearch_runtime::server::{ServerConfig, serve};
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A CA and the files of leaves it signed.
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate (PEM) file.
    pub ca_file: PathBuf,
    dir: PathBuf,
}

/// A leaf's files.
pub struct Leaf {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl Pki {
    /// A new CA named `name`, its certificate written to `<dir>/<name>-ca.crt`.
    pub fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let ca_file = dir.join(format!("{name}-ca.crt"));
        std::fs::write(&ca_file, cert.pem()).unwrap();
        Self { issuer: Issuer::new(params, key), ca_file, dir: dir.to_path_buf() }
    }

    /// A leaf (CA:FALSE) for `localhost` and 127.0.0.1, usable as server and client.
    pub fn leaf(&self, name: &str) -> Leaf {
        let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_file = self.dir.join(format!("{name}.crt"));
        let key_file = self.dir.join(format!("{name}.key"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        Leaf { cert_file, key_file }
    }
}

/// Echoes: `CallTool` answers `content` = the request's `arguments_json`, or,
/// when the name is `big`, that many bytes of `y`.
pub struct Echo;

#[tonic::async_trait]
impl ToolGatewayService for Echo {
    async fn list_tools(&self, _: tonic::Request<ListToolsRequest>) -> Result<tonic::Response<ListToolsResponse>, tonic::Status> {
        Ok(tonic::Response::new(ListToolsResponse { tools: vec![], snapshot_id: String::new() }))
    }

    async fn call_tool(&self, req: tonic::Request<CallToolRequest>) -> Result<tonic::Response<CallToolResponse>, tonic::Status> {
        let req = req.into_inner();
        let content = if req.name == "big" { "y".repeat(req.arguments_json.parse().unwrap_or(0)) } else { req.arguments_json };
        Ok(tonic::Response::new(CallToolResponse { content, is_error: false, error_kind: 0 }))
    }
}

pub const SERVICE: &str = "productresearch.tool_gateway.v1.ToolGatewayService";

/// A running server; dropping the stop sender shuts it down.
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub stop: oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<Result<(), productresearch_runtime::server::ServeError>>,
}

/// Serves [`Echo`] with `config` through the runtime's server stack, and waits
/// until the port accepts connections.
pub async fn start(config: ServerConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let max = config.max_message_bytes;
    let svc = ToolGatewayServiceServer::new(Echo).max_decoding_message_size(max).max_encoding_message_size(max);
    let task = tokio::spawn(async move {
        serve(listener, tonic::service::Routes::new(svc), &[SERVICE], &config, async move {
            let _ = stopped.await;
        })
        .await
    });
    Running { addr, stop, task }
}
