//! Configuration of `productresearch run`: defaults → `productresearch.toml`
//! (or `--config`) → `PR_*` environment variables → flags.
//!
//! Every role reads one OpenAI-compatible endpoint: `[llm]` is the default for
//! all roles, and `[roles.<role>]` overrides any of its fields for one role,
//! e.g. a stronger model for the supervisor:
//!
//! ```toml
//! [llm]
//! base_url = "http://127.0.0.1:8000/v1"
//! model = "Qwen/Qwen2.5-7B-Instruct"
//!
//! [roles.supervisor]
//! model = "Qwen/Qwen2.5-72B-Instruct"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use productresearch_llm::EndpointConfig;
use productresearch_runtime::telemetry::TelemetryConfig;
use serde::{Deserialize, Serialize};
use supervisor::Caps;

/// The roles that call a model.
pub const MODEL_ROLES: [&str; 3] = ["user-agent", "research-agent", "supervisor"];

/// Settings of the distillation step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistillSettings {
    /// Fewest assistant turns a kept trajectory has.
    pub min_assistant_turns: u32,
    /// Fewest tool calls a kept trajectory has.
    pub min_tool_calls: u32,
}

impl Default for DistillSettings {
    fn default() -> Self {
        Self { min_assistant_turns: 3, min_tool_calls: 2 }
    }
}

/// The `run` command's configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Default model endpoint of every role.
    pub llm: EndpointConfig,
    /// Per-role overrides of `llm` fields, keyed by role (`user-agent`,
    /// `research-agent`, `supervisor`).
    pub roles: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// Behaviour histories (JSONL).
    pub histories: PathBuf,
    /// Catalog files (JSONL) for product_search / visit_product.
    pub catalogs: Vec<PathBuf>,
    /// Local web corpus (folder with index.jsonl) for web_search / web_visit.
    pub web_corpus: Option<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Caps of every trajectory.
    pub caps: Caps,
    /// Trajectories in flight at once.
    pub concurrency: usize,
    /// Distillation settings.
    pub distill: DistillSettings,
    /// Logging.
    pub telemetry: TelemetryConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            llm: EndpointConfig::default(),
            roles: BTreeMap::new(),
            histories: PathBuf::from("demo/histories.jsonl"),
            catalogs: vec![PathBuf::from("demo/catalog.jsonl")],
            web_corpus: Some(PathBuf::from("demo/web")),
            out: PathBuf::from("out"),
            caps: Caps::default(),
            concurrency: 4,
            distill: DistillSettings::default(),
            telemetry: TelemetryConfig { log_filter: "warn".into(), json_logs: false },
        }
    }
}

impl RunConfig {
    /// The endpoint of `role`: `llm` with the role's overrides applied.
    pub fn endpoint(&self, role: &str) -> Result<EndpointConfig, String> {
        let mut merged = serde_json::to_value(&self.llm).map_err(|e| e.to_string())?;
        let overrides = self.roles.get(role).or_else(|| self.roles.get(&role.replace('-', "_")));
        if let (Some(overrides), Some(obj)) = (overrides, merged.as_object_mut()) {
            for (k, v) in overrides {
                obj.insert(k.clone(), v.clone());
            }
        }
        let endpoint: EndpointConfig = serde_json::from_value(merged).map_err(|e| format!("roles.{role}: {e}"))?;
        endpoint.validate(role)?;
        Ok(endpoint)
    }

    /// Checks the whole config; the error is one line that says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        for key in self.roles.keys() {
            if !MODEL_ROLES.contains(&key.replace('_', "-").as_str()) {
                return Err(format!("roles.{key}: unknown role; the roles with a model are {}", MODEL_ROLES.join(", ")));
            }
        }
        if self.llm.base_url.is_empty() && self.roles.values().all(|r| !r.contains_key("base_url")) {
            return Err("no model endpoint configured: set [llm] base_url and model in productresearch.toml (or PR_LLM__BASE_URL and PR_LLM__MODEL), or pass --simulated-llm to use the built-in simulated model (a test instrument)".into());
        }
        for role in MODEL_ROLES {
            self.endpoint(role)?;
        }
        self.caps.validate()?;
        if self.concurrency == 0 {
            return Err("concurrency must be > 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_overrides_apply_to_their_role_only() {
        let mut c = RunConfig { llm: EndpointConfig::new("http://127.0.0.1:1/v1", "small"), ..RunConfig::default() };
        c.roles.insert("supervisor".into(), json!({"model": "big", "temperature": 0.0}).as_object().unwrap().clone());
        assert!(c.validate().is_ok());
        assert_eq!(c.endpoint("supervisor").unwrap().model, "big");
        assert_eq!(c.endpoint("supervisor").unwrap().temperature, Some(0.0));
        assert_eq!(c.endpoint("research-agent").unwrap().model, "small");
    }

    #[test]
    fn missing_endpoint_and_unknown_role_are_one_line_errors() {
        let err = RunConfig::default().validate().unwrap_err();
        assert!(err.contains("--simulated-llm") && !err.contains('\n'));
        let mut c = RunConfig { llm: EndpointConfig::new("http://127.0.0.1:1/v1", "m"), ..RunConfig::default() };
        c.roles.insert("superviser".into(), serde_json::Map::new());
        assert!(c.validate().unwrap_err().contains("unknown role"));
        let mut c = RunConfig { llm: EndpointConfig::new("http://127.0.0.1:1/v1", "m"), ..RunConfig::default() };
        c.roles.insert("supervisor".into(), json!({"modle": "x"}).as_object().unwrap().clone());
        assert!(c.validate().unwrap_err().contains("modle"));
    }
}
