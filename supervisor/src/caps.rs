//! Per-trajectory caps, budgets and the thresholds of the deterministic guards.

use productresearch_proto::supervisor::v1 as pb;
use serde::{Deserialize, Serialize};

/// Limits of one trajectory. The first three must be positive; the budgets
/// after them are off at 0. The guards (from `near_repeat_percent` on) decide
/// a verdict without a model call (see `check.rs`); shares are whole percent
/// so the caps stay `Eq` and `Hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Caps {
    /// Report rounds before the trajectory ends unapproved (the paper plots six).
    pub max_report_rounds: u32,
    /// Approved tool calls.
    pub max_tool_calls: u32,
    /// Consecutive rejections of one plan or tool-call step.
    pub max_rejections_per_step: u32,
    /// Approved tool calls within one report round (0: no per-round cap).
    pub max_round_tool_calls: u32,
    /// Prompt + completion tokens of the whole trajectory (0: no budget).
    pub max_tokens: u64,
    /// Prompt + completion tokens of each role: the research agent's steps,
    /// the supervisor's verdicts (0: no budget).
    pub max_role_tokens: u64,
    /// Wall time of the trajectory in seconds, counted from its first recorded
    /// event, so time before a restart counts too (0: no budget).
    pub max_wall_secs: u64,
    /// Content words two free-text arguments of one tool share (Jaccard, in
    /// percent) from which a call repeats an earlier one (0: off).
    pub near_repeat_percent: u32,
    /// Fewest words a text has before it is checked for repetition; shorter
    /// texts repeat by chance.
    pub degenerate_min_words: u32,
    /// Share of a text's word 4-grams, in percent, that occurred before in it
    /// above which the text is a loop, not content (0: off).
    pub degenerate_repeat_percent: u32,
    /// Letters or digits of one kind in a row that make a text degenerate:
    /// a decoder stuck on one token repeats no word (0: off).
    pub degenerate_char_run: u32,
    /// Words in the same order a plan or report shares with the agent's
    /// instructions, or a report with its feedback, to be an echo (0: off).
    pub echo_words: u32,
    /// Share of a plan's word runs, in percent, that must be instruction
    /// runs for the plan to be an echo (0: off).
    pub plan_echo_percent: u32,
    /// Share of a report's word runs, in percent, that must be instruction
    /// runs for the report to be an echo (0: any one run). A stretch of
    /// twice `echo_words` words from the instructions (a sentence copied
    /// whole) is an echo at any share.
    pub report_echo_percent: u32,
    /// Fewest words of a report where the supervisor serves a distiller
    /// (`min_report_tool_calls` > 0; 0: off).
    pub min_report_words: u32,
    /// JSON object keys (`"product_id":`) in a report from which it pastes a
    /// tool's raw result instead of reporting it (0: off).
    pub raw_json_keys: u32,
    /// Distinct tool names (`product_search`, `web_visit` ...) in a report
    /// from which it narrates the research ("Step 1: product_search
    /// returned ...") instead of reporting what was found (0: off).
    pub report_tool_names: u32,
    /// Proposals of one call (tool + arguments, rejected ones included)
    /// above which the trajectory ends as a loop: the distiller's
    /// `max_identical_calls`, which would drop it (0: off).
    pub max_identical_calls: u32,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_report_rounds: 6,
            max_tool_calls: 8,
            max_rejections_per_step: 3,
            max_round_tool_calls: 0,
            max_tokens: 0,
            max_role_tokens: 0,
            max_wall_secs: 0,
            near_repeat_percent: 80,
            degenerate_min_words: 24,
            degenerate_repeat_percent: 50,
            degenerate_char_run: 16,
            echo_words: 6,
            plan_echo_percent: 50,
            report_echo_percent: 10,
            min_report_words: 30,
            raw_json_keys: 3,
            report_tool_names: 2,
            max_identical_calls: 2,
        }
    }
}

impl Caps {
    /// The caps of one request: each non-zero budget of `request` and each
    /// guard it sets (a guard may be set to 0, i.e. off) over these.
    pub fn overridden_by(self, request: pb::Caps) -> Self {
        fn pick<T: PartialEq + Default>(req: T, default: T) -> T {
            if req == T::default() { default } else { req }
        }
        Self {
            max_report_rounds: pick(request.max_report_rounds, self.max_report_rounds),
            max_tool_calls: pick(request.max_tool_calls, self.max_tool_calls),
            max_rejections_per_step: pick(request.max_rejections_per_step, self.max_rejections_per_step),
            max_round_tool_calls: pick(request.max_round_tool_calls, self.max_round_tool_calls),
            max_tokens: pick(request.max_tokens, self.max_tokens),
            max_role_tokens: pick(request.max_role_tokens, self.max_role_tokens),
            max_wall_secs: pick(request.max_wall_secs, self.max_wall_secs),
            near_repeat_percent: request.near_repeat_percent.unwrap_or(self.near_repeat_percent),
            degenerate_min_words: request.degenerate_min_words.unwrap_or(self.degenerate_min_words),
            degenerate_repeat_percent: request.degenerate_repeat_percent.unwrap_or(self.degenerate_repeat_percent),
            degenerate_char_run: request.degenerate_char_run.unwrap_or(self.degenerate_char_run),
            echo_words: request.echo_words.unwrap_or(self.echo_words),
            plan_echo_percent: request.plan_echo_percent.unwrap_or(self.plan_echo_percent),
            report_echo_percent: request.report_echo_percent.unwrap_or(self.report_echo_percent),
            min_report_words: request.min_report_words.unwrap_or(self.min_report_words),
            raw_json_keys: request.raw_json_keys.unwrap_or(self.raw_json_keys),
            report_tool_names: request.report_tool_names.unwrap_or(self.report_tool_names),
            max_identical_calls: request.max_identical_calls.unwrap_or(self.max_identical_calls),
        }
    }

    /// Every cap must allow at least one step; a share is at most 100 percent.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_report_rounds == 0 || self.max_tool_calls == 0 || self.max_rejections_per_step == 0 {
            return Err("supervisor: caps max_report_rounds, max_tool_calls and max_rejections_per_step must all be > 0".into());
        }
        if let Some((name, value)) = self.guards().into_iter().find(|(name, v)| name.ends_with("_percent") && *v > 100) {
            return Err(format!("supervisor: caps {name} is a share in percent, 0 to 100 (got {value})"));
        }
        Ok(())
    }

    /// The guards by name, in field order.
    pub fn guards(&self) -> [(&'static str, u32); 11] {
        [
            ("near_repeat_percent", self.near_repeat_percent),
            ("degenerate_min_words", self.degenerate_min_words),
            ("degenerate_repeat_percent", self.degenerate_repeat_percent),
            ("degenerate_char_run", self.degenerate_char_run),
            ("echo_words", self.echo_words),
            ("plan_echo_percent", self.plan_echo_percent),
            ("report_echo_percent", self.report_echo_percent),
            ("min_report_words", self.min_report_words),
            ("raw_json_keys", self.raw_json_keys),
            ("report_tool_names", self.report_tool_names),
            ("max_identical_calls", self.max_identical_calls),
        ]
    }
}

impl From<Caps> for pb::Caps {
    fn from(c: Caps) -> Self {
        Self {
            max_report_rounds: c.max_report_rounds,
            max_tool_calls: c.max_tool_calls,
            max_rejections_per_step: c.max_rejections_per_step,
            max_round_tool_calls: c.max_round_tool_calls,
            max_tokens: c.max_tokens,
            max_role_tokens: c.max_role_tokens,
            max_wall_secs: c.max_wall_secs,
            near_repeat_percent: Some(c.near_repeat_percent),
            degenerate_min_words: Some(c.degenerate_min_words),
            degenerate_repeat_percent: Some(c.degenerate_repeat_percent),
            degenerate_char_run: Some(c.degenerate_char_run),
            echo_words: Some(c.echo_words),
            plan_echo_percent: Some(c.plan_echo_percent),
            report_echo_percent: Some(c.report_echo_percent),
            min_report_words: Some(c.min_report_words),
            raw_json_keys: Some(c.raw_json_keys),
            report_tool_names: Some(c.report_tool_names),
            max_identical_calls: Some(c.max_identical_calls),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_sets_a_guard_off_and_keeps_unset_ones() {
        let request = pb::Caps { degenerate_repeat_percent: Some(0), max_tool_calls: 3, ..Default::default() };
        let caps = Caps::default().overridden_by(request);
        assert_eq!(caps.degenerate_repeat_percent, 0);
        assert_eq!(caps.max_tool_calls, 3);
        assert_eq!(caps.near_repeat_percent, 80, "unset guards keep the server's value");
        assert_eq!(Caps::default().overridden_by(Caps::default().into()), Caps::default());
    }

    #[test]
    fn shares_over_100_percent_are_refused() {
        let err = Caps { plan_echo_percent: 130, ..Caps::default() }.validate().unwrap_err();
        assert_eq!(err, "supervisor: caps plan_echo_percent is a share in percent, 0 to 100 (got 130)");
        assert!(Caps { near_repeat_percent: 0, degenerate_repeat_percent: 100, ..Caps::default() }.validate().is_ok());
    }

    fn load(toml: &str) -> Result<crate::Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("supervisor.toml");
        std::fs::write(&path, toml).unwrap();
        let config: crate::Config =
            productresearch_runtime::config::load(Some(&path), "PR_CAPS_TEST_UNSET", serde_json::json!({})).map_err(|e| e.to_string())?;
        config.caps.validate()?;
        Ok(config)
    }

    #[test]
    fn guards_parse_from_the_config_file() {
        let caps = load("[caps]\nmax_tool_calls = 4\ndegenerate_repeat_percent = 70\necho_words = 0\n").unwrap().caps;
        assert_eq!((caps.max_tool_calls, caps.degenerate_repeat_percent, caps.echo_words), (4, 70, 0));
        assert_eq!(caps.min_report_words, 30, "unset guards keep their defaults");
        let err = load("[caps]\ndegenerate_share = 0.7\n").unwrap_err();
        assert!(err.contains("degenerate_share"), "{err}");
        let err = load("[caps]\nnear_repeat_percent = 180\n").unwrap_err();
        assert_eq!(err, "supervisor: caps near_repeat_percent is a share in percent, 0 to 100 (got 180)");
    }
}
