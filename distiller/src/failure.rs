//! Failure records and error text: a trajectory that failed somewhere is not
//! training data, and an example must never teach a model to read (or write)
//! an error string as if it were a tool's answer.

use productresearch_record::{EventBody, StepKind, TerminationReason, Trajectory};

use crate::termination::reason_name;

/// Openings of text that is an error report rather than content (compared
/// lowercase, after trimming).
const ERROR_OPENINGS: [&str; 7] =
    ["error:", "error -", "tool error", "internal error", "failed to ", "traceback (most recent call last)", "exception:"];

/// The first failure recorded in `trajectory`, described for people.
pub fn first_failure(trajectory: &Trajectory) -> Option<String> {
    for event in &trajectory.events {
        match &event.body {
            EventBody::Step(step) if step.kind == StepKind::ToolResult => {
                let result = step.tool_result.as_ref()?;
                if result.is_error {
                    return Some(format!("tool result {} ({}) at event {} is an error", result.call_id, result.name, event.seq));
                }
                if is_error_text(&result.content) {
                    return Some(format!("tool result {} ({}) at event {} reads as an error text", result.call_id, result.name, event.seq));
                }
            }
            EventBody::Termination(t)
                if matches!(
                    t.reason,
                    TerminationReason::ModelFailure | TerminationReason::ToolFailure | TerminationReason::MeshFailure
                ) =>
            {
                return Some(format!("ended with a {} record", reason_name(t.reason)));
            }
            EventBody::Intent(_) | EventBody::Step(_) | EventBody::Verdict(_) | EventBody::Termination(_) => {}
            #[allow(unreachable_patterns)]
            // Event kinds added to the record later (failure records among them)
            // are read by their type tag, so this filter keeps working without a
            // release of the distiller.
            other => {
                let tag = serde_json::to_value(other).ok().and_then(|v| v.get("type").and_then(|t| t.as_str().map(str::to_string)));
                if let Some(tag) = tag.filter(|t| t.contains("failure")) {
                    return Some(format!("{tag} record at event {}", event.seq));
                }
            }
        }
    }
    None
}

/// True when `text` is an error report (see [`ERROR_OPENINGS`]).
pub fn is_error_text(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(40).collect::<String>().to_lowercase();
    ERROR_OPENINGS.iter().any(|o| head.starts_with(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_are_recognised_and_content_is_not() {
        for t in ["Error: timeout", "  error - 503", "Traceback (most recent call last):\n", "failed to fetch https://x"] {
            assert!(is_error_text(t), "{t}");
        }
        for t in ["1. Ninja BN701 $89", "No errors were reported by owners", "The error rate of this scale is low"] {
            assert!(!is_error_text(t), "{t}");
        }
    }
}
