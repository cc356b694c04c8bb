//! Which model a command talks to: a configured role's endpoint from
//! `productresearch.toml`, the embedded local model (started on loopback when
//! the role has no endpoint, as `run` does), or the simulated model started in
//! process. `run` starts its local model here too.

use std::path::PathBuf;

use anyhow::anyhow;
use productresearch_llm::{EndpointConfig, LlmClient, ToolMode};
use productresearch_local_model::{LocalModel, LocalModelConfig};

use crate::run_config::RunConfig;

/// Model flags shared by `distill` and `eval`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ModelChoice {
    /// Config file (default: ./productresearch.toml when present); its `[llm]`
    /// and `[roles.<role>]` name the endpoint.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Use the built-in simulated model (deterministic test instrument).
    #[arg(long)]
    pub simulated_llm: bool,
}

/// A connected model, stopped with [`Model::stop`].
pub struct Model {
    /// Its endpoint.
    pub endpoint: EndpointConfig,
    sim: Option<productresearch_sim_llm::SimHandle>,
    local: Option<EmbeddedModel>,
}

impl ModelChoice {
    /// The endpoint of `role`, for a command with `in_flight` model calls at
    /// most (its client's limit unless the config sets `max_concurrency`).
    pub async fn connect(&self, role: &str, in_flight: usize) -> anyhow::Result<Model> {
        if self.simulated_llm {
            let sim = productresearch_sim_llm::spawn_local(Default::default()).await?;
            let endpoint = EndpointConfig::new(sim.base_url(), format!("sim-{role}"));
            return Ok(Model { endpoint, sim: Some(sim), local: None });
        }
        let file = self.config.clone().or_else(|| Some(PathBuf::from("productresearch.toml")).filter(|p| p.exists()));
        let config: RunConfig = crate::run_config::load(file.as_deref(), serde_json::json!({"concurrency": in_flight}))?;
        if config.uses_local_model(role) {
            let local = EmbeddedModel::start(&config.local_model).await?;
            let endpoint = config.endpoint(role, Some(&local.endpoint)).map_err(|e| anyhow!(e));
            let endpoint = match endpoint {
                Ok(e) => e,
                Err(e) => {
                    local.stop().await;
                    return Err(e);
                }
            };
            eprintln!("{role}: model {} at {}", endpoint.model, endpoint.base_url);
            return Ok(Model { endpoint, sim: None, local: Some(local) });
        }
        let endpoint = config.endpoint(role, None).map_err(|e| anyhow!(e))?;
        Ok(Model { endpoint, sim: None, local: None })
    }
}

impl Model {
    /// A client of the endpoint.
    pub fn client(&self) -> anyhow::Result<LlmClient> {
        Ok(LlmClient::new(self.endpoint.clone())?)
    }

    /// Stops the simulated or local model, if one was started.
    pub async fn stop(self) {
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
        if let Some(local) = self.local {
            local.stop().await;
        }
    }
}

/// The embedded llama.cpp server (see `scripts/setup-model.sh`) on a loopback
/// port, for every role without an endpoint of its own. Dropping it kills the
/// server; [`EmbeddedModel::stop`] stops it cleanly.
pub struct EmbeddedModel {
    server: LocalModel,
    /// How every role talks to it.
    pub endpoint: EndpointConfig,
}

impl EmbeddedModel {
    /// Starts the server and waits until it serves. Not set up: an error
    /// naming the command that fixes it.
    pub async fn start(settings: &LocalModelConfig) -> anyhow::Result<Self> {
        let settings = &in_checkout(settings);
        let located = LocalModel::locate(settings)?;
        eprintln!("starting the local model ({}) ...", located.model_path.display());
        let server = LocalModel::start(located, settings).await?;
        let endpoint = local_endpoint(&server, settings);
        Ok(Self { server, endpoint })
    }

    /// Stops the server (SIGTERM, then SIGKILL after a grace period).
    pub async fn stop(self) {
        if let Err(e) = self.server.stop().await {
            eprintln!("warning: stopping the local model: {e}");
        }
    }
}

/// `settings` with the model folder and server script that are relative
/// paths found from any working directory (in the clone the binary was built
/// from, when not under the working directory; see
/// `productresearch_runtime::checkout`).
fn in_checkout(settings: &LocalModelConfig) -> LocalModelConfig {
    use productresearch_runtime::checkout::checkout_path;
    let mut settings = settings.clone();
    if settings.models_dir.is_relative() {
        settings.models_dir = checkout_path(&settings.models_dir);
    }
    let script = settings.script_path();
    if script.is_relative() {
        settings.script = Some(checkout_path(&script));
    }
    settings
}

/// How every role talks to the embedded model: small models cannot emit native
/// tool calls, so actions are JSON-schema-constrained; answers are capped at
/// 768 tokens (reports at `local_model.report_max_tokens`) because, on 2 cores
/// shared by 4 slots, generation runs at a few tokens per second per request.
fn local_endpoint(server: &LocalModel, settings: &LocalModelConfig) -> EndpointConfig {
    EndpointConfig {
        tool_mode: ToolMode::JsonSchema,
        // The server's window is shared by its slots; one request gets its share.
        context_length: Some(
            server.context_length().map_or(LOCAL_WINDOW_PER_REQUEST, |n| (n / settings.parallel.max(1)).min(LOCAL_WINDOW_PER_REQUEST)),
        ),
        max_tokens: Some(LOCAL_MAX_TOKENS),
        temperature: Some(0.2),
        timeout_secs: 600,
        max_retries: 2,
        // A 0.5B model that rambled to the token cap once usually does again;
        // one re-ask, then a recorded model failure, keeps a step to minutes.
        reask_limit: 1,
        max_concurrency: settings.parallel.max(1) as usize,
        extra_body: settings.sampling.clone(),
        prose_extra_body: settings.report_sampling.clone(),
        prose_max_tokens: Some(settings.report_max_tokens).filter(|n| *n > 0),
        ..EndpointConfig::new(server.base_url(), server.model())
    }
}

/// Context window one request may use on the local model.
const LOCAL_WINDOW_PER_REQUEST: u32 = 8_192;
/// Longest answer asked of the local model.
const LOCAL_MAX_TOKENS: u32 = 768;
