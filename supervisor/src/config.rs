//! Configuration of the supervisor.

use std::path::PathBuf;

use productresearch_llm::EndpointConfig;
use productresearch_runtime::boot::{ServiceCommon, ServiceConfig};
use productresearch_runtime::client::ClientConfig;
use serde::{Deserialize, Serialize};

use crate::caps::Caps;
use crate::resume::Resume;
use crate::store::Fsync;

/// Prefix of the environment variables that override the config
/// (`SUPERVISOR_LLM__MODEL`, ...).
pub const ENV_PREFIX: &str = "SUPERVISOR";

/// Everything the supervisor needs; env prefix `SUPERVISOR`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The supervisor's own model (verdicts).
    pub llm: EndpointConfig,
    /// Where the user agent is.
    pub user_agent: ClientConfig,
    /// Where the research agent replicas are.
    pub research_agent: ClientConfig,
    /// Where the tool gateway is (for tool schemas in Check Toolcall).
    pub tool_gateway: ClientConfig,
    /// Default caps per trajectory.
    pub caps: Caps,
    /// Approved tool calls with results a report needs before the model judges
    /// it: the distiller's `min_tool_calls` (`productresearch run` passes its
    /// `[distill]` value), so no approved report is dropped for too few (0: off).
    pub min_report_tool_calls: u32,
    /// Check every tool result (a tool error or an empty result goes back to
    /// the agent with feedback); off: results are recorded as they come,
    /// without a verdict round trip.
    pub check_results: bool,
    /// The model judges each tool call that passes the deterministic checks
    /// (schema, repeats, loops); off: those checks decide alone, for a
    /// supervisor model too small to judge relevance.
    pub model_call_checks: bool,
    /// Folder of the trajectory records (one JSONL event log per trajectory).
    pub records_dir: PathBuf,
    /// Object store for the records instead of the folder: `memory://`,
    /// `file:///abs/path`, or `s3://bucket/prefix` (built with feature `s3`).
    pub records_url: Option<String>,
    /// When the local logs are fsynced (see docs/durability.md).
    pub fsync: Fsync,
    /// Retries and resumes through restarting services.
    pub resume: Resume,
    /// Trajectories in flight at once in a batch, when the caller sets none.
    pub batch_concurrency: usize,
    /// Trajectories in flight at once in this supervisor, over all calls; free
    /// slots go round-robin between waiting calls (see `scheduler.rs`).
    pub max_in_flight: usize,
    /// Folder of prompt template overrides (`<dir>/supervisor/check_plan.j2`, ...;
    /// see docs/prompts.md); the built-in templates when unset.
    pub prompts_dir: Option<PathBuf>,
    /// Settings every service has (`[server]`, `[telemetry]`; see
    /// `productresearch_runtime::boot::ServiceCommon`).
    #[serde(flatten)]
    pub common: ServiceCommon,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            llm: EndpointConfig::default(),
            user_agent: ClientConfig::single("http://127.0.0.1:50051"),
            research_agent: ClientConfig::single("http://127.0.0.1:50053"),
            tool_gateway: ClientConfig::single("http://127.0.0.1:50054"),
            caps: Caps::default(),
            min_report_tool_calls: 2,
            check_results: false,
            model_call_checks: true,
            records_dir: PathBuf::from("records"),
            records_url: None,
            fsync: Fsync::default(),
            resume: Resume::default(),
            batch_concurrency: 8,
            max_in_flight: 1024,
            prompts_dir: None,
            common: ServiceCommon::default(),
        }
    }
}

impl Config {
    /// Checks the config at start; one line on error.
    pub fn validate(&self) -> Result<(), String> {
        self.llm.validate("supervisor")?;
        self.caps.validate()?;
        self.resume.validate()?;
        if self.batch_concurrency == 0 {
            return Err("supervisor: batch_concurrency must be > 0".into());
        }
        if self.max_in_flight == 0 {
            return Err("supervisor: max_in_flight must be > 0".into());
        }
        Ok(())
    }
}

impl ServiceConfig for Config {
    fn common(&self) -> &ServiceCommon {
        &self.common
    }
}
