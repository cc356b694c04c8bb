//! Domain types shared by the services and the CLI.
//!
//! These are what the trajectory record (JSONL) is made of and what domain code
//! works with; the proto types of the public API stop at each service's edge, and
//! [`convert`] maps between the two in one place.

pub mod convert;
pub mod echo;
pub mod failure;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod grounding;
pub mod history;
pub mod intent;
pub mod rubric;
pub mod step;
pub mod tool;
pub mod trajectory;
pub mod vocabulary;
pub mod words;

pub use convert::ConvertError;
pub use failure::{FailureClass, FailureKind};
pub use history::{HistoryEvent, HistoryEventKind, UserHistory};
pub use intent::{FollowUp, Intent, IntentShift};
/// Which prompt template (name + hash) produced a model input.
pub use productresearch_prompts::PromptRef;
pub use rubric::{Criterion, Dimension, Rubric, RubricDimension, RubricError};
pub use step::{Decision, Step, StepKind, SupervisorState, TokenUsage, ToolCall, ToolResult, Verdict};
pub use tool::ToolSpec;
pub use trajectory::{BudgetKind, EventBody, Termination, TerminationReason, Trajectory, TrajectoryEvent, UserTurn};
