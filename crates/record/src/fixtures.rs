//! Small valid values for tests of the crates that use these types (feature
//! `fixtures`), so every test suite builds its rubric the same way.

use crate::{
    Criterion, Dimension, EventBody, Intent, Rubric, RubricDimension, Step, StepKind, SupervisorState, Termination, TerminationReason,
    TokenUsage, ToolCall, ToolResult, Trajectory, Verdict,
};

/// Equal dimension weights, one criterion each.
pub fn rubric() -> Rubric {
    Rubric {
        dimensions: Dimension::ALL
            .iter()
            .map(|d| RubricDimension {
                dimension: *d,
                weight: 0.25,
                criteria: vec![Criterion { criterion: "c".into(), explanation: "e".into(), weight: 1.0 }],
            })
            .collect(),
    }
}

/// An intent with `query` and [`rubric`].
pub fn intent(query: &str) -> Intent {
    Intent { persona: "A commuter who takes the train every day.".into(), query: query.into(), rubric: rubric(), follow_ups: Vec::new() }
}

/// The four tools with minimal schemas: one required string argument each
/// (`query`, `product_id`, `query`, `url`) and an optional integer `limit`.
pub fn tools() -> Vec<crate::ToolSpec> {
    let schema = |key: &str| serde_json::json!({"type": "object", "properties": {key: {"type": "string"}, "limit": {"type": "integer"}}, "required": [key]});
    [
        ("product_search", "search products", "query"),
        ("visit_product", "open a product", "product_id"),
        ("web_search", "search the web", "query"),
        ("web_visit", "read a page", "url"),
    ]
    .into_iter()
    .map(|(name, description, key)| crate::ToolSpec { name: name.into(), description: description.into(), parameters: schema(key).into() })
    .collect()
}

/// Builds trajectories event by event, the way the supervisor records them.
pub struct Script {
    /// The trajectory so far.
    pub t: Trajectory,
    round: u32,
}

impl Script {
    /// A trajectory whose intent asks `query`.
    pub fn new(id: &str, query: &str) -> Self {
        let mut t = Trajectory::new(id, "user-1");
        let rubric = crate::fixtures::rubric();
        t.push(0, EventBody::Intent(Intent { persona: "a student".into(), query: query.into(), rubric, follow_ups: Vec::new() }));
        t.models.insert("research-agent".into(), "qwen3-4b".into());
        t.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
        Self { t, round: 0 }
    }

    /// Records `step` and its verdict (none: the step goes unanswered).
    pub fn step(&mut self, step: Step, verdict: Option<Verdict>) -> &mut Self {
        if step.kind == StepKind::Report {
            self.round += 1;
        }
        self.t.push(self.round, EventBody::Step(step));
        if let Some(v) = verdict {
            self.t.push(self.round, EventBody::Verdict(v));
        }
        self
    }

    fn verdict(state: SupervisorState, feedback: Option<&str>) -> Verdict {
        match feedback {
            None => Verdict::approve(state),
            Some(f) => Verdict::revise(state, f),
        }
    }

    pub fn plan(&mut self, text: &str, reasoning: &str, feedback: Option<&str>) -> &mut Self {
        let mut s = Step::text(StepKind::Plan, text, TokenUsage::default(), "qwen3-4b");
        s.reasoning = reasoning.into();
        self.step(s, Some(Self::verdict(SupervisorState::CheckPlan, feedback)))
    }

    pub fn call(&mut self, id: &str, name: &str, args: &str, feedback: Option<&str>) -> &mut Self {
        let call = ToolCall { id: id.into(), name: name.into(), arguments: args.into() };
        let s = Step::call(call, format!("calling {name}"), TokenUsage::default(), "qwen3-4b");
        self.step(s, Some(Self::verdict(SupervisorState::CheckToolcall, feedback)))
    }

    pub fn result(&mut self, id: &str, name: &str, content: &str, feedback: Option<&str>) -> &mut Self {
        let r = ToolResult { call_id: id.into(), name: name.into(), content: content.into(), is_error: false };
        self.step(Step::result(r), Some(Self::verdict(SupervisorState::CheckToolcall, feedback)))
    }

    /// An approved call and its approved result.
    pub fn tool(&mut self, id: &str, name: &str, args: &str, content: &str) -> &mut Self {
        self.call(id, name, args, None).result(id, name, content, None)
    }

    pub fn report(&mut self, text: &str, feedback: Option<&str>) -> &mut Self {
        let s = Step::text(StepKind::Report, text, TokenUsage::default(), "qwen3-4b");
        self.step(s, Some(Self::verdict(SupervisorState::CheckReport, feedback)))
    }

    /// The user's follow-up after an approved report (multi-turn).
    pub fn follow_up(&mut self, turn: u32, message: &str) -> &mut Self {
        let follow_up = crate::FollowUp { shift: crate::IntentShift::Narrow, message: message.into() };
        self.t.push(self.round, EventBody::UserTurn(crate::UserTurn { turn, follow_up }));
        self
    }

    pub fn end(&mut self, reason: TerminationReason) -> Trajectory {
        self.t.push(self.round, EventBody::Termination(Termination::new(reason, "")));
        self.t.clone()
    }
}
