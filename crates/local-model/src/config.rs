//! Local model configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::LocalModelError;

/// Env variable that relocates the models directory; `scripts/setup-model.sh` honours it too.
pub const MODELS_DIR_ENV: &str = "PR_MODELS_DIR";

/// Where the model and its server come from, and how the server is sized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalModelConfig {
    /// Output of `scripts/setup-model.sh`: `READY`, the gguf and `venv/`.
    /// Default: `$PR_MODELS_DIR`, else `.models` (relative to the current dir).
    pub models_dir: PathBuf,
    /// `serve_model.py`; default `scripts/serve_model.py` relative to the current dir.
    pub script: Option<PathBuf>,
    /// KV cache size in tokens, shared by all slots: one request may use all
    /// of it, but requests in flight together must fit in it side by side, so
    /// it is sized as `parallel` × the per-request window clients are told
    /// (32,768 = 4 × 8,192; the 0.5B model's KV cache is ~12 KB a token).
    pub ctx_size: u32,
    /// Requests the server decodes at once.
    pub parallel: u32,
    /// CPU threads for generation and prompt processing. Default: every core.
    /// Measured on 2 idle cores with the 0.5B model and 4 requests at once
    /// (docs/benchmarks.md, "Embedded default"): 2 threads 113 prompt tokens/s
    /// and 39.5 generated tokens/s, 1 thread 61 and 21. Under a competing load
    /// (a compiler, load ~7) one fewer thread is far better, because llama.cpp's
    /// threads meet at a barrier after every op and one preempted thread stalls
    /// them all: there 1 thread generated 10.6 tokens/s and 2 threads 1.1.
    pub threads: u32,
    /// Bound on spawn → `/health` 200 (model load included).
    pub startup_timeout_secs: u64,
    /// Tool calls a research turn may make when the research agent runs on
    /// this model (the lower of this and `caps.max_tool_calls`; 0: no bound of
    /// its own). A small model does not decide to stop: it opens every result
    /// until the cap, and the long context then spoils its report; a short
    /// research (a search and two visits) gives it a report it can write.
    pub max_tool_calls: u32,
    /// Report rounds a trajectory may take when the research agent runs on
    /// this model (the lower of this and `caps.max_report_rounds`; 0: no
    /// bound of its own). A small model sent back for a looping report
    /// writes the same loop again: in the 0.5B runs of docs/benchmarks.md
    /// every approved report was approved in round 1, and the rounds after
    /// the second took a minute each for nothing.
    pub max_report_rounds: u32,
    /// Whether the supervisor, when it runs on this model, judges each tool
    /// call with it after the deterministic checks (schema, repeats, loops).
    /// Off by default: a 1.5B judge refused three relevant searches in a row
    /// as "not relevant" and no trajectory reached its report; plans and
    /// reports are still judged by the model.
    pub model_call_checks: bool,
    /// llama.cpp sampling fields added to every request to this model (the
    /// roles' `llm.extra_body`), e.g. `{ repeat_last_n = 512, frequency_penalty = 0.3 }`.
    pub sampling: serde_json::Map<String, serde_json::Value>,
    /// llama.cpp sampling fields added, over `sampling`, to the requests for
    /// the research agent's report in prose only (the roles'
    /// `llm.prose_extra_body`; JSON answers never get them). Default: the DRY
    /// sampler ("don't repeat yourself") over the last 192 tokens, which
    /// stops the 0.5B's looping report ("Open the product's full record to
    /// find ..." for every product, written again word for word when sent
    /// back) without the global penalty's cost to JSON (docs/benchmarks.md
    /// runs 12–16). Its window is short so that copying a product's title
    /// or price from the tool results further back is not penalised, and
    /// runs of 3 tokens are free; `**`, `:`, quotes and newlines break a run,
    /// so a list's repeated `- **Price**:` is no repetition. And a grammar
    /// ([`PROSE_GRAMMAR`]) that keeps the answer from opening as JSON, a
    /// fence or a tag: after three tool calls in JSON the 0.5B went on
    /// writing calls when asked for the report, twice, to the token bound
    /// (7 minutes of a run, then a failed trajectory: runs 38 and 40).
    pub report_sampling: serde_json::Map<String, serde_json::Value>,
    /// Whether the research agent on this model keeps a report the
    /// supervisor sent back in its context (research-agent
    /// `keep_sent_back_reports`). Off by default: the 0.5B rewrote the
    /// sent-back report it read nearly token for token, three rounds in a
    /// row, even asked at a higher temperature (docs/benchmarks.md run 17).
    pub keep_sent_back_reports: bool,
    /// Longest report in tokens (the research agent's prose answer; every
    /// other answer may take 768). 0: the same 768.
    pub report_max_tokens: u32,
}

impl Default for LocalModelConfig {
    fn default() -> Self {
        let models_dir = std::env::var_os(MODELS_DIR_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self {
            models_dir: models_dir.unwrap_or_else(|| PathBuf::from(".models")),
            script: None,
            ctx_size: 32_768,
            parallel: 4,
            threads: default_threads(),
            startup_timeout_secs: 120,
            max_tool_calls: 3,
            max_report_rounds: 3,
            model_call_checks: false,
            sampling: serde_json::Map::new(),
            report_sampling: serde_json::json!({
                "dry_multiplier": 0.8, "dry_allowed_length": 3, "dry_penalty_last_n": 192, "grammar": PROSE_GRAMMAR,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
            keep_sent_back_reports: false,
            report_max_tokens: 512,
        }
    }
}

/// llama.cpp GBNF for a prose answer: anything, but not opening with `{`,
/// `[`, `<`, a backtick or white space (a call, a fence or a tag).
pub const PROSE_GRAMMAR: &str = r"root ::= [^{\[<` \t\n] [^\x00]*";

/// Every core: the mesh around the model needs little CPU (see `threads`).
fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

impl LocalModelConfig {
    /// The server script to run.
    pub fn script_path(&self) -> PathBuf {
        self.script.clone().unwrap_or_else(|| PathBuf::from("scripts/serve_model.py"))
    }

    /// Rejects values the server cannot start with, as one line.
    pub fn validate(&self) -> Result<(), LocalModelError> {
        let bad = |what: &str| Err(LocalModelError::Config(what.to_owned()));
        if self.ctx_size < 256 {
            return bad("ctx_size must be at least 256 tokens");
        }
        if self.parallel == 0 {
            return bad("parallel must be at least 1");
        }
        if self.threads == 0 {
            return bad("threads must be at least 1");
        }
        if self.startup_timeout_secs == 0 {
            return bad("startup_timeout_secs must be at least 1");
        }
        Ok(())
    }
}
