//! Steps the research agent proposes and the supervisor's verdicts on them.

use serde::{Deserialize, Serialize};

/// Tokens spent by a model call (or a sum of calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
}

impl TokenUsage {
    /// Prompt plus completion.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, o: Self) {
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
    }
}

/// A tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// Pairs the call with its result.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments, a JSON object as text (as the model wrote it).
    pub arguments: String,
}

impl ToolCall {
    /// What makes two calls the same call: the tool and its arguments in
    /// canonical JSON (`{"a":1, "b":2}` and `{"b":2,"a":1}` are one call;
    /// arguments that are not JSON count as their trimmed text). The
    /// distiller's loop filter and the supervisor's guard count by it.
    pub fn identity(&self) -> (String, String) {
        let args = serde_json::from_str::<serde_json::Value>(&self.arguments)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| self.arguments.trim().to_string());
        (self.name.clone(), args)
    }
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolResult {
    /// Id of the call.
    pub call_id: String,
    /// Tool name.
    pub name: String,
    /// Text the agent sees.
    pub content: String,
    /// The call failed; content says why.
    #[serde(default)]
    pub is_error: bool,
}

/// Kind of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A research plan.
    Plan,
    /// A proposed tool call.
    ToolCall,
    /// The result of an approved call.
    ToolResult,
    /// A report.
    Report,
}

/// One proposed step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Kind of step.
    pub kind: StepKind,
    /// Reasoning that came with it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reasoning: String,
    /// Plan or report text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The call (tool_call steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCall>,
    /// The result (tool_result steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<ToolResult>,
    /// Tokens spent producing the step.
    #[serde(default)]
    pub usage: TokenUsage,
    /// Model that produced it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// Tool results elided from what the model saw (context window policy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elided_call_ids: Vec<String>,
    /// Prompt templates the model was given for this step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<crate::PromptRef>,
}

impl Step {
    /// A plan or report step.
    pub fn text(kind: StepKind, text: impl Into<String>, usage: TokenUsage, model: impl Into<String>) -> Self {
        Self {
            kind,
            reasoning: String::new(),
            text: text.into(),
            tool_call: None,
            tool_result: None,
            usage,
            model: model.into(),
            elided_call_ids: Vec::new(),
            prompts: Vec::new(),
        }
    }

    /// A tool call step.
    pub fn call(call: ToolCall, reasoning: impl Into<String>, usage: TokenUsage, model: impl Into<String>) -> Self {
        Self {
            kind: StepKind::ToolCall,
            reasoning: reasoning.into(),
            text: String::new(),
            tool_call: Some(call),
            tool_result: None,
            usage,
            model: model.into(),
            elided_call_ids: Vec::new(),
            prompts: Vec::new(),
        }
    }

    /// A tool result step.
    pub fn result(result: ToolResult) -> Self {
        Self {
            kind: StepKind::ToolResult,
            reasoning: String::new(),
            text: String::new(),
            tool_call: None,
            tool_result: Some(result),
            usage: TokenUsage::default(),
            model: String::new(),
            elided_call_ids: Vec::new(),
            prompts: Vec::new(),
        }
    }

    /// Checks that the field the kind needs is present.
    pub fn validate(&self) -> Result<(), String> {
        match self.kind {
            StepKind::Plan | StepKind::Report if self.text.trim().is_empty() => Err(format!("{:?} step has no text", self.kind)),
            StepKind::ToolCall if self.tool_call.is_none() => Err("tool_call step has no call".into()),
            StepKind::ToolResult if self.tool_result.is_none() => Err("tool_result step has no result".into()),
            _ => Ok(()),
        }
    }
}

/// Approve or revise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The step stands.
    Approve,
    /// The agent must revise the step.
    Revise,
}

/// The check of the supervisor's state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupervisorState {
    /// Check Plan.
    CheckPlan,
    /// Check Toolcall.
    CheckToolcall,
    /// Check Report.
    CheckReport,
}

impl SupervisorState {
    /// The state that checks steps of `kind`.
    pub fn for_step(kind: StepKind) -> Self {
        match kind {
            StepKind::Plan => Self::CheckPlan,
            StepKind::ToolCall | StepKind::ToolResult => Self::CheckToolcall,
            StepKind::Report => Self::CheckReport,
        }
    }
}

/// A verdict on one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Approve or revise.
    pub decision: Decision,
    /// What to fix.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub feedback: String,
    /// Which check decided.
    pub state: SupervisorState,
    /// Decided without a model call.
    #[serde(default)]
    pub deterministic: bool,
    /// Tokens the supervisor's model spent.
    #[serde(default)]
    pub usage: TokenUsage,
    /// Prompt templates the supervisor's model was given; for a deterministic
    /// rejection, the templates of its feedback (`supervisor/feedback/*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<crate::PromptRef>,
}

impl Verdict {
    /// An approval by a deterministic check.
    pub fn approve(state: SupervisorState) -> Self {
        Self {
            decision: Decision::Approve,
            feedback: String::new(),
            state,
            deterministic: true,
            usage: TokenUsage::default(),
            prompts: Vec::new(),
        }
    }

    /// A rejection by a deterministic check.
    pub fn revise(state: SupervisorState, feedback: impl Into<String>) -> Self {
        Self {
            decision: Decision::Revise,
            feedback: feedback.into(),
            state,
            deterministic: true,
            usage: TokenUsage::default(),
            prompts: Vec::new(),
        }
    }

    /// True for approvals.
    pub fn approved(&self) -> bool {
        self.decision == Decision::Approve
    }
}
