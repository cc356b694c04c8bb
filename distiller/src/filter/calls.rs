//! The record's tool calls: their pairing with results (the step protocol
//! internalization relies on), how many were answered, and which one was
//! proposed most often.

use std::collections::HashMap;

use productresearch_record::{Decision as Verdict, StepKind, Trajectory};

/// The call proposed most often (name + canonical arguments), with its count.
pub(super) fn most_repeated_call(trajectory: &Trajectory) -> (usize, String) {
    let mut counts: HashMap<(String, String), usize> = HashMap::new();
    for (_, step, _) in trajectory.steps() {
        if let Some(call) = step.tool_call.as_ref().filter(|_| step.kind == StepKind::ToolCall) {
            *counts.entry(call.identity()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|((name, args), n)| (n, format!("{name} {args}")))
        .unwrap_or_default()
}

/// Checks what `Trajectory::validate` does not: the pairing of tool calls and
/// results and the end at the approved report. Internalization relies on both;
/// a record breaking them is bad input, dropped here rather than exported.
pub(super) fn protocol(trajectory: &Trajectory) -> Result<(), String> {
    let mut awaiting: Option<&str> = None;
    let mut report_approved = false;
    let user_turns = trajectory.user_turns_by_next_step();
    for (event, step, verdict) in trajectory.steps() {
        let at = event.seq;
        if report_approved {
            // Multi-turn: the user's follow-up reopens the conversation.
            if !user_turns.contains_key(&at) {
                return Err(format!("step at event {at} follows the approved report"));
            }
            report_approved = false;
        }
        let approved = verdict.is_some_and(|v| v.decision == Verdict::Approve);
        if let Some(call_id) = awaiting.take() {
            match &step.tool_result {
                Some(r) if step.kind == StepKind::ToolResult && r.call_id == call_id => continue,
                _ => {
                    return Err(format!("approved tool call {call_id} is not followed by its result (event {at})"));
                }
            }
        }
        match step.kind {
            StepKind::ToolResult => {
                return Err(format!("tool result at event {at} answers no approved tool call"));
            }
            StepKind::ToolCall if approved => {
                let call = step.tool_call.as_ref().ok_or_else(|| format!("tool call step at event {at} has no call"))?;
                if call.id.trim().is_empty() {
                    return Err(format!("approved tool call at event {at} has no id"));
                }
                if !serde_json::from_str::<serde_json::Value>(&call.arguments).is_ok_and(|v| v.is_object()) {
                    return Err(format!("approved tool call {} at event {at} has arguments that are not a JSON object", call.id));
                }
                awaiting = Some(&call.id);
            }
            StepKind::Report if approved => report_approved = true,
            _ => {}
        }
    }
    // A call still awaiting its result here means the record stopped right after
    // approving it (a tool failure, a budget): not approved, so the approved
    // filter names the real reason.
    Ok(())
}

/// Approved tool calls answered by their result right after.
pub(super) fn approved_calls_with_results(trajectory: &Trajectory) -> u32 {
    let steps = trajectory.steps();
    let answered = steps.windows(2).filter(|w| {
        let (_, call, verdict) = &w[0];
        let (_, result, _) = &w[1];
        call.kind == StepKind::ToolCall
            && verdict.is_some_and(|v| v.approved())
            && result.kind == StepKind::ToolResult
            && result.tool_result.as_ref().map(|r| &r.call_id) == call.tool_call.as_ref().map(|c| &c.id)
    });
    answered.count() as u32
}

#[cfg(test)]
mod tests {
    use productresearch_record::TerminationReason;

    use super::*;
    use crate::internalize::tests::{Script, supervised};

    #[test]
    fn broken_call_result_pairing_is_named() {
        // An approved call whose result answers another id.
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .call("c1", "web_search", "{}", None)
            .result("c9", "web_search", "x", None)
            .report("r.", None)
            .end(TerminationReason::Approved);
        let reason = protocol(&t).unwrap_err();
        assert!(reason.contains("c1 is not followed by its result"), "{reason}");
        // A result after a rejected call (rejected calls never run).
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .call("c1", "web_search", "{}", Some("no"))
            .result("c1", "web_search", "x", None)
            .report("r.", None)
            .end(TerminationReason::Approved);
        assert!(protocol(&t).unwrap_err().contains("answers no approved tool call"));
        // Arguments that are not a JSON object.
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", "query=x", "x")
            .report("r.", None)
            .end(TerminationReason::Approved);
        assert!(protocol(&t).unwrap_err().contains("not a JSON object"));
        // A step after the approved report.
        let t = Script::new("t", "q").plan("p", "", None).report("r.", None).report("r2", None).end(TerminationReason::Approved);
        assert!(protocol(&t).unwrap_err().contains("follows the approved report"));
    }

    #[test]
    fn calls_are_counted_by_answer_and_by_canonical_arguments() {
        assert_eq!(approved_calls_with_results(&supervised()), 3);
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .call("c1", "web_search", r#"{"query":"x","k":1}"#, Some("repeat"))
            .tool("c2", "web_search", r#"{"k":1, "query":"x"}"#, "ok")
            .report("r.", None)
            .end(TerminationReason::Approved);
        assert_eq!(most_repeated_call(&t), (2, r#"web_search {"k":1,"query":"x"}"#.to_string()));
    }
}
