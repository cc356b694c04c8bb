//! The user agent: a real user's behaviour history in, a shopping intent
//! (persona, research query, RACE rubric) out.

mod config;
mod error;
mod infer;
mod prompt;
mod service;

use std::future::Future;

use productresearch_llm::LlmClient;
use productresearch_proto::user_agent::v1::user_agent_service_server::UserAgentServiceServer;
use tokio::net::TcpListener;

pub use config::Config;
pub use error::Error;
pub use infer::{Inferred, IntentInferrer, parse_intent};

/// Fully qualified gRPC service name (for health checks).
pub const SERVICE_NAME: &str = "productresearch.user_agent.v1.UserAgentService";

/// Serves the user agent on `listener` until `shutdown` resolves.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
    config.validate().map_err(Error::Config)?;
    let llm = LlmClient::new(config.llm.clone())?;
    let max = config.server.max_message_bytes;
    let svc = UserAgentServiceServer::new(service::Service::new(IntentInferrer::new(llm)))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), model = %config.llm.model, "user-agent serving");
    productresearch_runtime::server::serve(listener, tonic::service::Routes::new(svc), &[SERVICE_NAME], &config.server, shutdown).await?;
    Ok(())
}
