//! What a `productresearch run` tells the user at the end: examples written,
//! how the trajectories ended, why the distiller dropped the others, time per
//! trajectory, and — when the yield is low — the likely cause and what to try.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use productresearch_record::{EventBody, TerminationReason, Trajectory};

use crate::pipeline::DistillOutcome;

/// Text of a model failure whose answer hit the token limit (from the model client).
const CUT_OFF_MARK: &str = "cut off at the length limit";

/// The figures of one run.
#[derive(Debug, Default, PartialEq)]
pub struct RunSummary {
    /// Trajectories that ended.
    pub trajectories: usize,
    /// SFT examples written.
    pub examples: usize,
    /// Trajectories by how they ended (`approved`, `model_failure`, ...).
    pub ends: BTreeMap<String, usize>,
    /// Dropped trajectories by distiller filter.
    pub drops: BTreeMap<String, usize>,
    /// Trajectories whose model answers were cut off at the length limit.
    pub cut_off: usize,
    /// Seconds from first to last event, per trajectory.
    pub secs: Vec<f64>,
    /// Steps the supervisor checked, per trajectory.
    pub steps: Vec<usize>,
    /// Trajectories that ended without an approved report (round cap,
    /// budget) by why their last step was sent back: the deterministic
    /// check's feedback template (`raw_json`, `degenerate`, ...) or `model
    /// verdict`.
    pub sent_back_for: BTreeMap<String, usize>,
}

impl RunSummary {
    /// The summary of `trajectories` and what distillation made of them.
    pub fn new(trajectories: &[Trajectory], distilled: &DistillOutcome) -> Self {
        let mut s = Self { trajectories: trajectories.len(), examples: distilled.examples, ..Self::default() };
        for t in trajectories {
            if let Some(end) = t.termination() {
                *s.ends.entry(reason_name(end.reason)).or_default() += 1;
                if end.reason == TerminationReason::ModelFailure && end.detail.contains(CUT_OFF_MARK) {
                    s.cut_off += 1;
                }
                if matches!(end.reason, TerminationReason::RoundCap | TerminationReason::Budget)
                    && let Some(why) = last_sent_back_for(t)
                {
                    *s.sent_back_for.entry(why).or_default() += 1;
                }
            }
            s.secs.push(duration(t).map_or(0.0, |d| d.as_secs_f64()));
            s.steps.push(t.events.iter().filter(|e| matches!(e.body, EventBody::Verdict(_))).count());
        }
        for (_, filter, _) in &distilled.drops {
            *s.drops.entry(filter.clone()).or_default() += 1;
        }
        s
    }

    /// The lines printed at the end of the run.
    pub fn render(&self, sft_path: &Path) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} SFT examples from {} trajectories -> {}", self.examples, self.trajectories, sft_path.display());
        let _ = writeln!(out, "  ended: {}", counts(&self.ends));
        if !self.drops.is_empty() {
            let _ = writeln!(out, "  dropped by the distiller: {}", counts(&self.drops));
        }
        if !self.secs.is_empty() {
            let mean = self.secs.iter().sum::<f64>() / self.secs.len() as f64;
            let max = self.secs.iter().copied().fold(0.0, f64::max);
            let steps = self.steps.iter().sum::<usize>() as f64 / self.steps.len() as f64;
            let _ = writeln!(out, "  per trajectory: {mean:.0}s on average (longest {max:.0}s), {steps:.1} checked steps");
        }
        if let Some(advice) = self.advice() {
            let _ = writeln!(out, "  {advice}");
        }
        out
    }

    /// The likely cause and the next step, when fewer than half the
    /// trajectories became examples.
    pub fn advice(&self) -> Option<String> {
        if self.trajectories == 0 || self.examples * 2 >= self.trajectories {
            return None;
        }
        let n = self.trajectories;
        let stronger = "try the 1.5B model (scripts/setup-model.sh --model 1.5b, then run with PR_LOCAL_MODEL__MODELS_DIR=.models-1.5b) or a stronger endpoint, see README";
        let ended = |reason: &str| self.ends.get(reason).copied().unwrap_or(0);
        let dropped = |filter: &str| self.drops.get(filter).copied().unwrap_or(0);
        // The model's failures and the rounds run out, whichever ended more.
        let failed = ended("model_failure");
        let ran_out = ended("round_cap") + ended("budget");
        let cause = if failed > 0 && failed >= ran_out && self.cut_off * 2 >= failed {
            format!("{} of {n} trajectories had answers cut off at the length limit: {stronger}", self.cut_off)
        } else if failed > 0 && failed >= ran_out {
            format!("{failed} of {n} trajectories ended in unusable model output: {stronger}")
        } else if ran_out > 0 {
            let why = if self.sent_back_for.is_empty() {
                String::new()
            } else {
                format!(" (last sent back for: {}; the feedback is in records/)", counts(&self.sent_back_for))
            };
            format!(
                "{ran_out} of {n} trajectories ran out of rounds, rejections or budget before a report was approved{why}: raise [caps] in productresearch.toml, or {stronger}"
            )
        } else if dropped("near_duplicate") * 2 > self.drops.values().sum::<usize>() {
            // Not the model's fault: the batch asked the same thing twice.
            format!(
                "{} of {n} trajectories repeated another one's query and report (near_duplicate): give more varied histories (--histories), or raise filters.near_duplicate_jaccard in the distiller config",
                dropped("near_duplicate")
            )
        } else if dropped("grounding") > 0 {
            format!("{} of {n} reports cited products or URLs no tool returned: {stronger}", dropped("grounding"))
        } else if let Some((filter, count)) = self.drops.iter().max_by_key(|(_, c)| **c) {
            format!("{count} of {n} trajectories were dropped by the {filter} filter (see drops.jsonl): {stronger}")
        } else {
            format!("few trajectories became examples: {stronger}")
        };
        Some(format!("low yield: {cause}"))
    }
}

/// Why the last step sent back in `t` was: its deterministic check's
/// feedback template (`supervisor/feedback/raw_json` → `raw_json`), or
/// `model verdict`.
fn last_sent_back_for(t: &Trajectory) -> Option<String> {
    t.events.iter().rev().find_map(|e| match &e.body {
        EventBody::Verdict(v) if !v.approved() => Some(
            v.prompts
                .iter()
                .find_map(|p| p.name.strip_prefix("supervisor/feedback/"))
                .filter(|_| v.deterministic)
                .map_or_else(|| "model verdict".to_string(), str::to_string),
        ),
        _ => None,
    })
}

/// `approved 3, model_failure 1`, largest first.
fn counts(map: &BTreeMap<String, usize>) -> String {
    let mut v: Vec<(&String, &usize)> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if v.is_empty() {
        return "none".into();
    }
    v.iter().map(|(k, c)| format!("{k} {c}")).collect::<Vec<_>>().join(", ")
}

/// The snake_case name of a termination reason, as in the JSONL record.
fn reason_name(reason: TerminationReason) -> String {
    serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{reason:?}"))
}

/// First to last recorded event.
fn duration(t: &Trajectory) -> Option<Duration> {
    let at = |i: usize| chrono::DateTime::parse_from_rfc3339(&t.events.get(i)?.timestamp).ok();
    (at(t.events.len().checked_sub(1)?)? - at(0)?).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::{SupervisorState, Termination, Verdict};

    fn ended(reason: TerminationReason, detail: &str, secs: i64) -> Trajectory {
        let mut t = Trajectory::new("t", "u");
        t.push(0, EventBody::Verdict(Verdict::approve(SupervisorState::CheckPlan)));
        t.push(0, EventBody::Termination(Termination::new(reason, detail)));
        let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
        t.events[0].timestamp = start.to_rfc3339();
        t.events[1].timestamp = (start + chrono::Duration::seconds(secs)).to_rfc3339();
        t
    }

    fn distilled(examples: usize, drops: &[&str]) -> DistillOutcome {
        DistillOutcome {
            examples,
            drops: drops.iter().map(|f| ("t".to_string(), f.to_string(), "why".to_string())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_zero_yield_names_the_cause_and_the_next_step() {
        let cut = "model: unusable: the answer was cut off at the length limit; answer again (after 1 re-asks)";
        let ts = vec![
            ended(TerminationReason::ModelFailure, cut, 60),
            ended(TerminationReason::ModelFailure, cut, 120),
            ended(TerminationReason::ModelFailure, cut, 90),
            ended(TerminationReason::Approved, "", 30),
        ];
        let s = RunSummary::new(&ts, &distilled(0, &["approved", "approved", "approved", "min_tool_calls"]));
        assert_eq!(s.ends["model_failure"], 3);
        assert_eq!(s.drops["approved"], 3);
        let text = s.render(Path::new("out/sft.jsonl"));
        assert!(text.starts_with("0 SFT examples from 4 trajectories"), "{text}");
        assert!(text.contains("ended: model_failure 3, approved 1"), "{text}");
        assert!(text.contains("dropped by the distiller: approved 3, min_tool_calls 1"), "{text}");
        assert!(text.contains("75s on average (longest 120s), 1.0 checked steps"), "{text}");
        assert!(text.contains("3 of 4 trajectories had answers cut off at the length limit") && text.contains("1.5b"), "{text}");
    }

    #[test]
    fn the_advice_follows_the_dominant_cause_and_is_silent_on_a_good_yield() {
        let approved = || ended(TerminationReason::Approved, "", 10);
        let s = RunSummary::new(
            &[approved(), approved(), approved(), approved()],
            &distilled(1, &["grounding", "grounding", "min_tool_calls"]),
        );
        assert!(s.advice().unwrap().contains("2 of 4 reports cited products or URLs no tool returned"), "{:?}", s.advice());
        let s = RunSummary::new(&[approved(), ended(TerminationReason::RoundCap, "", 5)], &distilled(0, &["approved", "approved"]));
        assert!(s.advice().unwrap().contains("ran out of rounds"));
        // Run 16 of docs/benchmarks.md: 3 round caps and 1 cut-off; the advice
        // names the round caps and what their reports were sent back for.
        let sent_back = |template: &str| {
            let mut t = ended(TerminationReason::RoundCap, "no report approved in 3 rounds", 5);
            let verdict = Verdict {
                deterministic: true,
                prompts: vec![productresearch_record::PromptRef { name: format!("supervisor/feedback/{template}"), sha256: String::new() }],
                ..Verdict::revise(SupervisorState::CheckReport, "fix it")
            };
            t.push(1, EventBody::Verdict(verdict));
            t
        };
        let cut = ended(TerminationReason::ModelFailure, "the answer was cut off at the length limit", 5);
        let s = RunSummary::new(&[sent_back("raw_json"), sent_back("raw_json"), sent_back("echoed_instructions"), cut], &distilled(0, &[]));
        let advice = s.advice().unwrap();
        assert!(
            advice.contains("3 of 4 trajectories ran out of rounds")
                && advice.contains("(last sent back for: raw_json 2, echoed_instructions 1; the feedback is in records/)"),
            "{advice}"
        );
        let good = RunSummary::new(&[approved(), approved(), approved(), approved()], &distilled(3, &["grounding"]));
        assert_eq!(good.advice(), None);
        let alike = RunSummary::new(
            &[approved(), approved(), approved(), approved()],
            &distilled(1, &["near_duplicate", "near_duplicate", "grounding"]),
        );
        let advice = alike.advice().unwrap();
        assert!(advice.contains("2 of 4 trajectories repeated another one") && !advice.contains("1.5b"), "{advice}");
        assert!(!good.render(Path::new("sft.jsonl")).contains("low yield"));
    }
}
