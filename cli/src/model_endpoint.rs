//! Which model a command outside `run` talks to (the distiller's reflections,
//! the RACE judge): a configured role's endpoint from `productresearch.toml`,
//! or the simulated model started in process.

use std::path::PathBuf;

use anyhow::anyhow;
use productresearch_llm::{EndpointConfig, LlmClient};

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
}

impl ModelChoice {
    /// The endpoint of `role`.
    pub async fn connect(&self, role: &str) -> anyhow::Result<Model> {
        productresearch_runtime::install_crypto_provider();
        if self.simulated_llm {
            let sim = productresearch_sim_llm::spawn_local(Default::default()).await?;
            let endpoint = EndpointConfig::new(sim.base_url(), format!("sim-{role}"));
            return Ok(Model { endpoint, sim: Some(sim) });
        }
        let file = self.config.clone().or_else(|| Some(PathBuf::from("productresearch.toml")).filter(|p| p.exists()));
        let config: RunConfig = productresearch_runtime::config::load(file.as_deref(), "PR", serde_json::json!({}))?;
        if config.uses_local_model(role) {
            return Err(anyhow!(
                "{role}: no model endpoint configured; set [llm] base_url or [roles.{}] in productresearch.toml, or pass --simulated-llm",
                role.replace('-', "_")
            ));
        }
        let endpoint = config.endpoint(role, None).map_err(|e| anyhow!(e))?;
        Ok(Model { endpoint, sim: None })
    }
}

impl Model {
    /// A client of the endpoint.
    pub fn client(&self) -> anyhow::Result<LlmClient> {
        Ok(LlmClient::new(self.endpoint.clone())?)
    }

    /// Stops the simulated model, if one was started.
    pub async fn stop(self) {
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
    }
}
