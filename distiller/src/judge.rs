//! The RACE judge as a model call: the prompt ([`crate::race::judge_prompt`],
//! weights hidden) goes to the configured judge model, its JSON is read by
//! [`JudgeScores`] and scored by [`crate::race::score`]. A malformed answer
//! (no JSON, no dimension, a dimension without a single usable score) is asked
//! for again, up to `retries` times, before the call fails: a made-up number
//! would poison every evaluation that reads it.

use productresearch_llm::{ChatRequest, JsonSchema, LlmClient, Message};
use productresearch_prompts::{PromptRef, PromptSet};
use productresearch_record::{Rubric, TokenUsage};
use productresearch_runtime::failure::{Failure, FailureKind};
use serde_json::json;

use crate::race::{self, JudgeScores, RaceScore};

/// Name of the JSON schema of the judge's answer (a simulated endpoint answers by it).
pub const SCHEMA_NAME: &str = "race_judge";

/// A judgement and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The scores.
    pub score: RaceScore,
    /// Tokens spent over every attempt.
    pub usage: TokenUsage,
    /// Attempts made (1 when the first answer was usable).
    pub attempts: u32,
    /// The template used.
    pub prompt: PromptRef,
    /// Model that judged.
    pub model: String,
}

/// Why no judgement came back.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The prompt could not be rendered.
    #[error("judge prompt: {0}")]
    Prompt(String),
    /// The model call failed.
    #[error("judge model: {0}")]
    Model(String),
    /// Every answer was malformed.
    #[error("judge output unusable after {attempts} attempts: {last}")]
    Malformed {
        /// Attempts made.
        attempts: u32,
        /// The last problem.
        last: String,
    },
}

impl Failure for JudgeError {
    fn failure_kind(&self) -> FailureKind {
        match self {
            Self::Prompt(_) => FailureKind::Config,
            Self::Model(_) | Self::Malformed { .. } => FailureKind::Model,
        }
    }

    /// The judge's model call already had its retries; a later call may
    /// still succeed.
    fn is_transient(&self) -> bool {
        matches!(self, Self::Model(_))
    }
}

/// Scores reports with a judge model.
#[derive(Clone)]
pub struct ModelJudge {
    client: std::sync::Arc<LlmClient>,
    prompts: PromptSet,
    retries: u32,
}

impl ModelJudge {
    /// A judge calling `client`, asking again `retries` times on malformed output.
    pub fn new(client: LlmClient, prompts: PromptSet, retries: u32) -> Self {
        Self { client: std::sync::Arc::new(client), prompts, retries }
    }

    /// Scores `target` against `reference` on `rubric` for `query`.
    pub async fn judge(&self, query: &str, rubric: &Rubric, target: &str, reference: &str) -> Result<Judgement, JudgeError> {
        let rendered =
            race::render_judge_prompt(&self.prompts, query, rubric, target, reference).map_err(|e| JudgeError::Prompt(e.to_string()))?;
        let req = ChatRequest {
            messages: vec![Message::user(rendered.text)],
            json_schema: Some(JsonSchema { name: SCHEMA_NAME.into(), schema: json!({"type": "object"}).into() }),
            ..ChatRequest::default()
        };
        let mut usage = TokenUsage::default();
        let mut last = String::new();
        for attempt in 1..=self.retries + 1 {
            let (value, resp) = match self.client.chat_json(&req).await {
                Ok(ok) => ok,
                // An answer without any JSON, after the client's own re-asks.
                Err(productresearch_llm::LlmError::Unusable(m)) => {
                    last = m;
                    continue;
                }
                Err(e) => return Err(JudgeError::Model(e.to_string())),
            };
            usage += resp.usage;
            match JudgeScores::from_json(&value).and_then(|j| race::score(rubric, &j)) {
                Ok(score) => {
                    return Ok(Judgement { score, usage, attempts: attempt, prompt: rendered.prompt, model: resp.model });
                }
                Err(e) => {
                    tracing::warn!(attempt, error = %e, "malformed judgement; asking again");
                    last = e.to_string();
                }
            }
        }
        Err(JudgeError::Malformed { attempts: self.retries + 1, last })
    }
}

#[cfg(test)]
mod tests {
    use productresearch_llm::EndpointConfig;
    use productresearch_sim_llm::{FaultKind, FaultRule, SimConfig, Trigger};
    use serde_json::Value;

    use super::*;

    const BENCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/deepresearch_bench");

    /// Task 83's rubric and Claude's report for it, from the bench.
    fn task_83() -> Option<(String, Rubric, String)> {
        let criteria = std::fs::read_to_string(format!("{BENCH}/criteria.jsonl")).ok()?;
        let row: Value =
            criteria.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|r| r["id"].to_string().trim_matches('"') == "83")?;
        let reports = std::fs::read_to_string(format!("{BENCH}/reference_model_outputs/claude-3-7-sonnet-latest.cleaned.jsonl")).ok()?;
        let report: Value =
            reports.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|r| r["id"].to_string().trim_matches('"') == "83")?;
        Some((row["prompt"].as_str()?.to_string(), race::rubric_from_bench(&row).unwrap(), report["article"].as_str()?.to_string()))
    }

    fn judge(base_url: String, reask_limit: u32, retries: u32) -> ModelJudge {
        let mut e = EndpointConfig::new(base_url, "judge-model");
        e.reask_limit = reask_limit;
        e.max_retries = 0;
        ModelJudge::new(LlmClient::new(e).unwrap(), PromptSet::builtin(), retries)
    }

    #[tokio::test]
    async fn the_full_report_beats_its_first_paragraph_on_a_bench_rubric() {
        let Some((query, rubric, report)) = task_83() else {
            println!("skip: no DeepResearch Bench data at {BENCH}");
            return;
        };
        let sim = productresearch_sim_llm::spawn_local(SimConfig::default()).await.unwrap();
        let j = judge(sim.base_url(), 1, 2);
        let thin: String = report.chars().take(600).collect();
        let full = j.judge(&query, &rubric, &report, &thin).await.unwrap();
        assert_eq!(full.attempts, 1);
        // Every criterion of the rubric was scored by name: no fallback.
        assert_eq!(full.score.matches.exact, full.score.matches.total());
        assert_eq!(full.score.matches.total(), 23);
        assert!(full.score.overall > 0.5, "{}", full.score.overall);
        for d in &full.score.dimensions {
            assert!((d.relative - d.target / (d.target + d.reference)).abs() < 1e-12);
        }
        // Swapped, the share is the complement (the judge is symmetric).
        let swapped = j.judge(&query, &rubric, &thin, &report).await.unwrap();
        assert!((swapped.score.overall + full.score.overall - 1.0).abs() < 1e-9);
        assert!(full.usage.total() > 0);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_malformed_judgement_is_asked_for_again_then_fails_loudly() {
        let Some((query, rubric, report)) = task_83() else { return };
        // The first answer is garbled (no JSON): one more ask gets a usable one.
        let faults = vec![FaultRule { trigger: Trigger::FirstN(1), kind: FaultKind::GarbledContent }];
        let sim = productresearch_sim_llm::spawn_local(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
        let j = judge(sim.base_url(), 0, 2).judge(&query, &rubric, &report, "short").await.unwrap();
        assert_eq!(j.attempts, 2);
        sim.shutdown().await;
        // Always garbled: no score, an error naming the attempts.
        let faults = vec![FaultRule { trigger: Trigger::EveryNth(1), kind: FaultKind::GarbledContent }];
        let sim = productresearch_sim_llm::spawn_local(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
        let err = judge(sim.base_url(), 0, 2).judge(&query, &rubric, &report, "short").await.unwrap_err();
        assert!(matches!(err, JudgeError::Malformed { attempts: 3, .. }), "{err}");
        assert_eq!(sim.requests(), 3);
        sim.shutdown().await;
    }
}
