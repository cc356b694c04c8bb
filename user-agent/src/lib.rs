//! The user agent: a real user's behaviour history in, a shopping intent
//! (persona, research query, RACE rubric) out.

mod budget;
mod config;
mod error;
mod infer;
mod prompt;
mod service;
mod validate;

use std::future::Future;

use productresearch_llm::LlmClient;
use productresearch_proto::user_agent::v1::user_agent_service_server::UserAgentServiceServer;
use tokio::net::TcpListener;

pub use config::{Config, ENV_PREFIX};
pub use error::Error;
pub use infer::{FOLLOW_UPS, InferOptions, Inferred, IntentInferrer, parse_intent};
pub use prompt::{FollowUpRange, intent_schema, render_history};
pub use validate::query as validate_query;

/// The service's name: its folder, package, binary, Kubernetes objects and
/// `OTEL_SERVICE_NAME`.
pub const NAME: &str = "user-agent";

/// Fully qualified gRPC service name (health checks, reflection): the one the
/// proto compiler generated.
pub const SERVICE_NAME: &str = productresearch_proto::user_agent::v1::user_agent_service_server::SERVICE_NAME;

/// Serves the user agent on `listener` until `shutdown` resolves.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
    config.validate().map_err(Error::Config)?;
    let llm = LlmClient::new(config.llm.clone())?.for_agent("user-agent");
    let max = config.common.server.max_message_bytes;
    let prompts = productresearch_prompts::PromptSet::load(config.prompts_dir.as_deref()).map_err(|e| Error::Config(e.to_string()))?;
    let options = InferOptions { follow_ups: config.follow_ups.then_some(FOLLOW_UPS), max_reasks: config.max_reasks };
    prompt::check(&prompts, options.follow_ups).map_err(|e| Error::Config(e.to_string()))?;
    let inferrer = IntentInferrer::new(llm).with_prompts(prompts).with_options(options);
    let svc = UserAgentServiceServer::new(service::Service::new(inferrer)).max_decoding_message_size(max).max_encoding_message_size(max);
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), model = %config.llm.model, "user-agent serving");
    productresearch_runtime::server::serve(listener, tonic::service::Routes::new(svc), &[SERVICE_NAME], &config.common.server, shutdown)
        .await?;
    Ok(())
}
