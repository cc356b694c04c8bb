//! The distiller turns supervised trajectories into single-role SFT examples.
//!
//! - [`filter`]: which trajectories are kept, and why the others are dropped;
//! - [`internalize`]: the multi-role transcript as one conversation, with each
//!   rejection's feedback turned into the agent's own reflection ([`reflection`]),
//!   its reasoning condensed until it repeats no run of recorded feedback
//!   ([`echo`]) and names no review or unseen draft ([`vocabulary`]);
//! - [`export`]: the example as one JSON object in the OpenAI chat format;
//! - [`validate`]: the rules every exported example must meet.
//!
//! [`distill`] runs all of it without any network; [`run`] serves it as
//! `productresearch.distiller.v1.DistillerService`.

mod config;
pub mod content;
pub mod dedup;
mod distillation;
pub mod diversity;
pub mod echo;
mod error;
pub mod export;
pub mod failure;
pub mod filter;
pub mod format;
pub use productresearch_record::grounding;
pub mod internalize;
pub mod judge;
pub mod model_reflection;
pub mod race;
pub mod reflection;
mod service;
pub mod stats;
pub mod termination;
pub mod tokens;
pub mod validate;
/// The vocabulary is the record crate's, so the supervisor applies the same
/// lists before it approves.
pub use productresearch_record::vocabulary;

use std::future::Future;

use productresearch_proto::distiller::v1::distiller_service_server::DistillerServiceServer;
use productresearch_runtime::server;
use tokio::net::TcpListener;

pub use config::{Config, DEFAULT_SYSTEM_PROMPT, ENV_PREFIX};
pub use distillation::{DistillOptions, Distilled, Dropped, SftExample, distill};
pub use error::Error;
pub use filter::{Filter, FilterConfig};
pub use format::Format;
pub use judge::ModelJudge;
pub use model_reflection::{ModelReflector, ReflectionTable};
pub use service::DistillerApi;
pub use stats::DatasetStats;
pub use tokens::{Bucket, TokenCounter};

/// The service's name: its folder, package, binary, Kubernetes objects and
/// `OTEL_SERVICE_NAME`.
pub const NAME: &str = "distiller";

/// Fully qualified gRPC service name (health checks, reflection): the one the
/// proto compiler generated.
pub const SERVICE_NAME: &str = productresearch_proto::distiller::v1::distiller_service_server::SERVICE_NAME;

/// Serves the distiller on `listener` until `shutdown` resolves.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
    config.validate()?;
    tracing::info!(
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        min_assistant_turns = config.min_assistant_turns,
        min_tool_calls = config.min_tool_calls,
        bucket = config.bucket.name(),
        reflection_model = config.reflection.as_ref().map(|e| e.model.as_str()).unwrap_or("rules"),
        judge_model = config.judge.as_ref().map(|e| e.model.as_str()).unwrap_or("none"),
        "distiller serving"
    );
    let prompts = productresearch_prompts::PromptSet::load(config.prompts_dir.as_deref()).map_err(|e| Error::Config(e.to_string()))?;
    let llm =
        |e: &productresearch_llm::EndpointConfig| productresearch_llm::LlmClient::new(e.clone()).map_err(|e| Error::Config(e.to_string()));
    let reflector = config.reflection.as_ref().map(llm).transpose()?.map(|c| ModelReflector::new(c, prompts.clone()));
    let judge = config.judge.as_ref().map(llm).transpose()?.map(|c| ModelJudge::new(c, prompts.clone(), config.judge_retries));
    let api = DistillerApi::new(DistillOptions::from_config(&config)?).with_reflector(reflector).with_judge(judge);
    let routes = tonic::service::Routes::new(
        DistillerServiceServer::new(api)
            .max_decoding_message_size(config.common.server.max_message_bytes)
            .max_encoding_message_size(config.common.server.max_message_bytes),
    );
    server::serve(listener, routes, &[SERVICE_NAME], &config.common.server, shutdown).await?;
    Ok(())
}
