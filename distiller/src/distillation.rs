//! One distillation: filter, internalize, export and validate a batch of
//! trajectories, without any network.

use productresearch_record::{ToolSpec, Trajectory};

use crate::config::Config;
use crate::error::Error;
use crate::filter::{self, Filter};
use crate::{export, internalize, validate};

/// What a distillation keeps and how examples open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistillOptions {
    /// Fewest assistant turns an example has.
    pub min_assistant_turns: u32,
    /// Fewest approved tool calls with results a kept trajectory has.
    pub min_tool_calls: u32,
    /// The system message of every example.
    pub system_prompt: String,
}

impl DistillOptions {
    /// The configured defaults.
    pub fn from_config(config: &Config) -> Self {
        Self {
            min_assistant_turns: config.min_assistant_turns,
            min_tool_calls: config.min_tool_calls,
            system_prompt: config.system_prompt.clone(),
        }
    }

    /// These options with a request's thresholds, where it sets them (non-zero).
    pub fn with_overrides(mut self, min_assistant_turns: u32, min_tool_calls: u32) -> Self {
        if min_assistant_turns != 0 {
            self.min_assistant_turns = min_assistant_turns;
        }
        if min_tool_calls != 0 {
            self.min_tool_calls = min_tool_calls;
        }
        self
    }
}

/// One exported example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftExample {
    /// Trajectory it came from.
    pub trajectory_id: String,
    /// The example as one JSON object (see [`crate::export`]), validated.
    pub json: String,
}

/// A trajectory that did not become an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Trajectory id.
    pub trajectory_id: String,
    /// The filter that dropped it.
    pub filter: Filter,
    /// What the filter found.
    pub reason: String,
}

/// The outcome of a distillation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distilled {
    /// One example per kept trajectory, in input order.
    pub examples: Vec<SftExample>,
    /// The others, in input order.
    pub drops: Vec<Dropped>,
}

/// Filters `trajectories`, internalizes the kept ones and exports them with
/// `tools`. Every example is validated; a violation fails the whole call with
/// [`Error::InvalidExample`] rather than exporting or silently dropping it.
pub fn distill(trajectories: Vec<Trajectory>, tools: &[ToolSpec], opts: &DistillOptions) -> Result<Distilled, Error> {
    let mut out = Distilled::default();
    for trajectory in trajectories {
        let id = trajectory.trajectory_id.clone();
        let internalized = filter::screen(&trajectory, opts.min_tool_calls).and_then(|()| {
            let internalized = internalize::internalize(&trajectory, &opts.system_prompt);
            filter::depth(&internalized, opts.min_assistant_turns).map(|()| internalized)
        });
        let internalized = match internalized {
            Ok(i) => i,
            Err(r) => {
                tracing::debug!(trajectory_id = %id, filter = %r.filter, reason = %r.reason, "trajectory dropped");
                out.drops.push(Dropped { trajectory_id: id, filter: r.filter, reason: r.reason });
                continue;
            }
        };
        let example = export::example(&trajectory, &internalized, tools);
        validate::check(&example).map_err(|v| Error::InvalidExample { trajectory_id: id.clone(), rule: v.rule, detail: v.detail })?;
        out.examples.push(SftExample { trajectory_id: id, json: example.to_string() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use productresearch_record::TerminationReason;

    use super::*;
    use crate::internalize::tests::{Script, supervised};

    fn opts() -> DistillOptions {
        DistillOptions::from_config(&Config::default())
    }

    #[test]
    fn keeps_good_and_names_the_filter_of_each_drop() {
        let shallow = Script::new("shallow", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", "{}", "x")
            .report("r", None)
            .end(TerminationReason::Approved);
        let unapproved = Script::new("unapproved", "q").plan("p", "", None).report("r", Some("thin")).end(TerminationReason::RoundCap);
        let out = distill(vec![unapproved, supervised(), shallow], &[], &opts()).unwrap();
        assert_eq!(out.examples.iter().map(|e| e.trajectory_id.as_str()).collect::<Vec<_>>(), ["traj-1"]);
        let drops: Vec<(&str, &str)> = out.drops.iter().map(|d| (d.trajectory_id.as_str(), d.filter.name())).collect();
        assert_eq!(drops, [("unapproved", "approved"), ("shallow", "min_tool_calls")]);
        let v: serde_json::Value = serde_json::from_str(&out.examples[0].json).unwrap();
        assert_eq!(v["meta"]["trajectory_id"], "traj-1");
    }

    #[test]
    fn overrides_apply_only_when_set() {
        let o = opts().with_overrides(0, 7);
        assert_eq!((o.min_assistant_turns, o.min_tool_calls), (3, 7));
        let out = distill(vec![supervised()], &[], &opts().with_overrides(6, 0)).unwrap();
        assert_eq!(out.drops[0].filter, Filter::MinAssistantTurns);
    }

    #[test]
    fn an_invalid_example_fails_loudly_with_trajectory_and_rule() {
        // An empty system prompt yields an example the validator must refuse.
        let bad = DistillOptions { system_prompt: String::new(), ..opts() };
        let err = distill(vec![supervised()], &[], &bad).unwrap_err();
        assert!(matches!(&err, Error::InvalidExample { trajectory_id, rule: "opening", .. } if trajectory_id == "traj-1"), "{err}");
        assert!(err.to_string().contains("traj-1") && err.to_string().contains("opening"), "{err}");
    }
}
