//! The supervisor: asks the user agent for an intent, steers the research agent
//! step by step over a bidirectional stream through the three-state machine
//! (Check Plan / Check Toolcall / Check Report), and records every transition
//! in the trajectory record (JSONL).

mod batch;
mod caps;
mod check;
mod config;
mod error;
mod machine;
mod mesh;
mod recorder;
mod resume;
mod scheduler;
mod service;
mod spans;
pub mod store;
mod trajectory_id;
mod verdict;

use std::future::Future;
use std::sync::Arc;

use productresearch_llm::LlmClient;
use productresearch_proto::supervisor::v1::supervisor_service_server::SupervisorServiceServer;
use productresearch_runtime::client::channel;
use tokio::net::TcpListener;

pub use batch::{BatchEvent, Progress, run as run_batch};
pub use caps::Caps;
pub use check::{CallChecker, Feedback, degenerate, usable_results};
pub use config::{Config, ENV_PREFIX};
pub use error::Error;
pub use machine::Supervisor;
pub use mesh::{AgentMessage, GrpcMesh, InferredIntent, Mesh, MeshError, Position, ResearchLink, StartSession, ToolList, VerdictMessage};
pub use resume::Resume;
pub use scheduler::Scheduler;
pub use trajectory_id::trajectory_id;

/// The service's name: its folder, package, binary, Kubernetes objects and
/// `OTEL_SERVICE_NAME`.
pub const NAME: &str = "supervisor";

/// Fully qualified gRPC service name (health checks, reflection): the one the
/// proto compiler generated.
pub const SERVICE_NAME: &str = productresearch_proto::supervisor::v1::supervisor_service_server::SERVICE_NAME;

/// Serves the supervisor on `listener` until `shutdown` resolves.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
    config.validate().map_err(Error::Config)?;
    let llm = LlmClient::new(config.llm.clone())?.for_agent("supervisor");
    let mesh = GrpcMesh::new(
        channel("user-agent", &config.user_agent)?,
        channel("research-agent", &config.research_agent)?,
        channel("tool-gateway", &config.tool_gateway)?,
    );
    let store = store::from_config(&config.records_dir, config.records_url.as_deref(), config.fsync)?;
    let prompts = productresearch_prompts::PromptSet::load(config.prompts_dir.as_deref()).map_err(|e| Error::Config(e.to_string()))?;
    verdict::check_templates(&prompts).map_err(|e| Error::Config(e.to_string()))?;
    let supervisor = Supervisor::new(Arc::new(mesh), llm, config.caps, &config.records_dir)
        .with_store(store)
        .with_resume(config.resume)
        .with_prompts(prompts)
        .with_min_report_tool_calls(config.min_report_tool_calls)
        .with_result_check(config.check_results)
        .with_model_call_checks(config.model_call_checks);
    let max = config.common.server.max_message_bytes;
    let svc =
        SupervisorServiceServer::new(service::Service::new(supervisor, Scheduler::new(config.max_in_flight), config.batch_concurrency))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), model = %config.llm.model, max_in_flight = config.max_in_flight, records = %config.records_dir.display(), "supervisor serving");
    productresearch_runtime::server::serve(listener, tonic::service::Routes::new(svc), &[SERVICE_NAME], &config.common.server, shutdown)
        .await?;
    Ok(())
}
