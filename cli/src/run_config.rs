//! Configuration of `productresearch run`: defaults → `productresearch.toml`
//! (or `--config`) → `PR_*` environment variables → flags.
//!
//! Every role reads one OpenAI-compatible endpoint: `[llm]` is the default for
//! all roles, and `[roles.<role>]` overrides any of its fields for one role.
//! A role whose `base_url` stays empty uses the embedded local model (started
//! on loopback for the run). E.g. a hosted model for everything and a stronger
//! one for the supervisor:
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
use productresearch_local_model::LocalModelConfig;
use productresearch_runtime::checkout::demo_path;
use productresearch_runtime::telemetry::TelemetryConfig;
use serde::{Deserialize, Serialize};
use supervisor::Caps;

/// Prefix of the run config's environment variables (`PR_LLM__MODEL`, ...).
pub const ENV_PREFIX: &str = "PR";

/// Loads the run config: defaults → `file` → `PR_*` → `overrides`. The model
/// set-up's `PR_MODELS_DIR` shares the prefix and is left to it.
pub fn load(file: Option<&std::path::Path>, overrides: impl Serialize) -> Result<RunConfig, productresearch_runtime::config::ConfigError> {
    productresearch_runtime::config::load_sharing_prefix(file, ENV_PREFIX, &[productresearch_local_model::MODELS_DIR_ENV], overrides)
}

/// `llm.max_concurrency` of a run by default: each role's model client then
/// allows the run's `concurrency` calls in flight (one per trajectory), so a
/// batch of 1,000 is not held to a fixed ceiling. A value set in `[llm]` or
/// `[roles.<role>]` stands; the embedded model keeps its own (its slots).
pub const FOLLOW_CONCURRENCY: usize = 0;

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
    /// Role whose model writes the reflections (empty: the rule-based rewrite).
    pub reflection_role: String,
    /// Role whose model is the distiller's RACE judge (empty: none).
    pub judge_role: String,
}

impl Default for DistillSettings {
    fn default() -> Self {
        Self { min_assistant_turns: 3, min_tool_calls: 2, reflection_role: "research-agent".into(), judge_role: "supervisor".into() }
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
    /// The embedded local model, for roles without a `base_url`.
    pub local_model: LocalModelConfig,
    /// Logging.
    pub telemetry: TelemetryConfig,
    /// Tool responses: live, recorded or replayed (`--tools-mode`).
    pub tools: crate::local_mesh::ToolsSettings,
    /// Prompt template overrides and multi-turn intents (docs/prompts.md).
    pub prompts: crate::local_mesh::PromptSettings,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            llm: EndpointConfig { max_concurrency: FOLLOW_CONCURRENCY, ..EndpointConfig::default() },
            roles: BTreeMap::new(),
            histories: demo_path("histories.jsonl"),
            catalogs: vec![demo_path("catalog.jsonl")],
            web_corpus: Some(demo_path("web")),
            out: PathBuf::from("out"),
            caps: Caps::default(),
            concurrency: 4,
            distill: DistillSettings::default(),
            local_model: LocalModelConfig::default(),
            telemetry: TelemetryConfig { log_filter: "warn".into(), json_logs: false, ..Default::default() },
            tools: crate::local_mesh::ToolsSettings::default(),
            prompts: crate::local_mesh::PromptSettings::default(),
        }
    }
}

impl RunConfig {
    fn overrides(&self, role: &str) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.roles.get(role).or_else(|| self.roles.get(&role.replace('-', "_")))
    }

    /// True when `role` has no endpoint of its own and runs on the local model.
    pub fn uses_local_model(&self, role: &str) -> bool {
        let overridden = self.overrides(role).and_then(|o| o.get("base_url")).and_then(|v| v.as_str()).is_some_and(|s| !s.is_empty());
        self.llm.base_url.is_empty() && !overridden
    }

    /// The endpoint of `role`: `llm` (or `local`, the running local model, when
    /// the role has no `base_url`) with the role's overrides applied; calls in
    /// flight follow `concurrency` unless set ([`FOLLOW_CONCURRENCY`]).
    pub fn endpoint(&self, role: &str, local: Option<&EndpointConfig>) -> Result<EndpointConfig, String> {
        let base = if self.uses_local_model(role) {
            local.ok_or_else(|| format!("{role}: no model endpoint and no local model running"))?
        } else {
            &self.llm
        };
        let mut merged = serde_json::to_value(base).map_err(|e| e.to_string())?;
        if let (Some(overrides), Some(obj)) = (self.overrides(role), merged.as_object_mut()) {
            for (k, v) in overrides {
                obj.insert(k.clone(), v.clone());
            }
        }
        let mut endpoint: EndpointConfig = serde_json::from_value(merged).map_err(|e| format!("roles.{role}: {e}"))?;
        if endpoint.max_concurrency == FOLLOW_CONCURRENCY {
            endpoint.max_concurrency = self.concurrency.max(1);
        }
        endpoint.validate(role)?;
        Ok(endpoint)
    }

    /// Id of the tool snapshot a run's tool results come from: the record/replay
    /// store as `<mode>:<folder>`, or empty for live tools.
    pub fn tool_snapshot(&self) -> String {
        tool_gateway::tools::store::snapshot_id(self.tools.mode, self.tools.store.as_deref())
    }

    /// Checks the whole config; the error is one line that says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        for key in self.roles.keys() {
            if !MODEL_ROLES.contains(&key.replace('_', "-").as_str()) {
                return Err(format!("roles.{key}: unknown role; the roles with a model are {}", MODEL_ROLES.join(", ")));
            }
        }
        // Check the overrides against a stand-in local endpoint: a typo must
        // fail now, not after the local model has started.
        let stand_in = EndpointConfig::new("http://127.0.0.1:1/v1", "local");
        for role in MODEL_ROLES {
            self.endpoint(role, Some(&stand_in))?;
        }
        for (key, role) in [("distill.reflection_role", &self.distill.reflection_role), ("distill.judge_role", &self.distill.judge_role)] {
            if !role.is_empty() && !MODEL_ROLES.contains(&role.as_str()) {
                return Err(format!("{key}: unknown role {role:?}; use one of {} or \"\" (none)", MODEL_ROLES.join(", ")));
            }
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
        assert_eq!(c.endpoint("supervisor", None).unwrap().model, "big");
        assert_eq!(c.endpoint("supervisor", None).unwrap().temperature, Some(0.0));
        assert_eq!(c.endpoint("research-agent", None).unwrap().model, "small");
        assert!(!c.uses_local_model("user-agent"));
    }

    #[test]
    fn model_clients_follow_the_runs_concurrency_unless_set() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let load = |toml: &str| {
            std::fs::write(file.path(), toml).unwrap();
            // What `--concurrency 200` sets.
            let c = load(Some(file.path()), json!({"concurrency": 200})).unwrap();
            c.validate().unwrap();
            MODEL_ROLES.map(|role| c.endpoint(role, None).unwrap().max_concurrency)
        };
        let endpoint = "[llm]\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\n";
        assert_eq!(load(endpoint), [200, 200, 200]);
        assert_eq!(load(&format!("{endpoint}max_concurrency = 32\n")), [32, 32, 32]);
        let one_role = format!("{endpoint}[roles.supervisor]\nmax_concurrency = 10\n");
        assert_eq!(load(&one_role), [200, 200, 10], "user-agent, research-agent, supervisor");
        // The embedded model's endpoint keeps its own slots.
        let c = RunConfig { concurrency: 200, ..RunConfig::default() };
        let local = EndpointConfig { max_concurrency: 2, ..EndpointConfig::new("http://127.0.0.1:3/v1", "qwen-0.5b") };
        assert_eq!(c.endpoint("research-agent", Some(&local)).unwrap().max_concurrency, 2);
    }

    #[test]
    fn roles_without_an_endpoint_use_the_local_model() {
        let mut c = RunConfig::default();
        c.roles.insert("supervisor".into(), json!({"base_url": "http://127.0.0.1:2/v1", "model": "hosted"}).as_object().unwrap().clone());
        assert!(c.uses_local_model("research-agent") && !c.uses_local_model("supervisor"));
        let local = EndpointConfig::new("http://127.0.0.1:3/v1", "qwen-0.5b");
        assert_eq!(c.endpoint("research-agent", Some(&local)).unwrap().model, "qwen-0.5b");
        assert_eq!(c.endpoint("supervisor", Some(&local)).unwrap().model, "hosted");
        assert!(c.endpoint("user-agent", None).unwrap_err().contains("no local model"));
    }

    #[test]
    fn unknown_roles_and_fields_are_one_line_errors() {
        let mut c = RunConfig::default();
        c.roles.insert("superviser".into(), serde_json::Map::new());
        assert!(c.validate().unwrap_err().contains("unknown role"));
        let mut c = RunConfig::default();
        c.roles.insert("supervisor".into(), json!({"modle": "x"}).as_object().unwrap().clone());
        let err = c.validate().unwrap_err();
        assert!(err.contains("modle") && !err.contains('\n'), "{err}");
    }
}
