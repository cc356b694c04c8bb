//! Conversions between the domain types and the v1 proto types, in this
//! module: one file per concept (history, intent, step, trajectory).
//!
//! Domain → proto cannot fail. Proto → domain can: unset enums and missing
//! required messages are reported as [`ConvertError`] naming the field, which
//! services turn into INVALID_ARGUMENT.

mod history;
mod intent;
mod step;
mod trajectory;

pub use trajectory::failure_kind;

use productresearch_proto::common::v1 as pb;

use crate::*;

/// A proto message that does not make a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A required field is missing.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// An enum field is unset or unknown.
    #[error("field {0} has an unspecified or unknown value {1}")]
    BadEnum(&'static str, i32),
}

fn en<T: TryFrom<i32>>(field: &'static str, v: i32) -> Result<T, ConvertError> {
    T::try_from(v).map_err(|_| ConvertError::BadEnum(field, v))
}

// ---- usage -------------------------------------------------------------

impl From<TokenUsage> for pb::TokenUsage {
    fn from(u: TokenUsage) -> Self {
        Self { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens }
    }
}

impl From<pb::TokenUsage> for TokenUsage {
    fn from(u: pb::TokenUsage) -> Self {
        Self { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens }
    }
}

fn usage_from(u: Option<pb::TokenUsage>) -> TokenUsage {
    u.map(Into::into).unwrap_or_default()
}

// ---- tools -------------------------------------------------------------

impl From<ToolSpec> for productresearch_proto::tool_gateway::v1::ToolDefinition {
    fn from(t: ToolSpec) -> Self {
        Self { name: t.name, description: t.description, parameters_json_schema: t.parameters.to_string() }
    }
}

impl TryFrom<productresearch_proto::tool_gateway::v1::ToolDefinition> for ToolSpec {
    type Error = ConvertError;
    fn try_from(t: productresearch_proto::tool_gateway::v1::ToolDefinition) -> Result<Self, ConvertError> {
        let parameters = serde_json::from_str(&t.parameters_json_schema)
            .map_err(|_| ConvertError::Missing("tool_definition.parameters_json_schema (valid JSON)"))?;
        Ok(Self { name: t.name, description: t.description, parameters: std::sync::Arc::new(parameters) })
    }
}

// ---- prompts -------------------------------------------------------------

// PromptRef is defined in the prompts crate, so these are functions (orphan rule).

/// Domain prompt refs → proto.
pub fn prompts_to_pb(prompts: Vec<PromptRef>) -> Vec<pb::PromptRef> {
    prompts.into_iter().map(|p| pb::PromptRef { name: p.name, sha256: p.sha256 }).collect()
}

/// Proto prompt refs → domain.
pub fn prompts_from_pb(prompts: Vec<pb::PromptRef>) -> Vec<PromptRef> {
    prompts.into_iter().map(|p| PromptRef { name: p.name, sha256: p.sha256 }).collect()
}
