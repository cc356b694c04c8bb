//! The research agent: works a shopping research query ReAct-style (Plan →
//! ToolCall* → Report) with four tools served by the tool gateway, proposing
//! each step to its supervisor over a bidirectional gRPC stream.

mod config;
mod context;
mod error;
mod offer;
mod prompt;
mod service;
mod session;
mod tools;

use std::future::Future;
use std::sync::Arc;

use productresearch_llm::LlmClient;
use productresearch_proto::research_agent::v1::research_agent_service_server::ResearchAgentServiceServer;
use tokio::net::TcpListener;

pub use config::{Config, ENV_PREFIX};
pub use error::Error;
pub use session::{Failure, Session};
pub use tools::{GrpcTools, Tools};

/// The service's name: its folder, package, binary, Kubernetes objects and
/// `OTEL_SERVICE_NAME`.
pub const NAME: &str = "research-agent";

/// Fully qualified gRPC service name (health checks, reflection): the one the
/// proto compiler generated.
pub const SERVICE_NAME: &str = productresearch_proto::research_agent::v1::research_agent_service_server::SERVICE_NAME;

/// Serves the research agent on `listener` until `shutdown` resolves.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
    config.validate().map_err(Error::Config)?;
    let llm = LlmClient::new(config.llm.clone())?.for_agent("research-agent");
    let tools = Arc::new(GrpcTools::new(productresearch_runtime::client::channel("tool-gateway", &config.tool_gateway)?));
    let max = config.common.server.max_message_bytes;
    let prompts = productresearch_prompts::PromptSet::load(config.prompts_dir.as_deref()).map_err(|e| Error::Config(e.to_string()))?;
    prompt::check(&prompts).map_err(|e| Error::Config(e.to_string()))?;
    let svc = ResearchAgentServiceServer::new(
        service::Service::new(llm, tools, config.max_tool_calls)
            .with_prompts(prompts)
            .keeping_sent_back_reports(config.keep_sent_back_reports),
    )
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), model = %config.llm.model, "research-agent serving");
    productresearch_runtime::server::serve(listener, tonic::service::Routes::new(svc), &[SERVICE_NAME], &config.common.server, shutdown)
        .await?;
    Ok(())
}
