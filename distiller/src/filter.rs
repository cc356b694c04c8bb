//! The filters that decide which trajectories become training examples.
//!
//! They run in [`Filter::ORDER`]; the first that fails drops the trajectory with
//! its name and a reason, so a caller can count why data was lost. The cheap
//! checks of the record come first; the depth check needs the internalized
//! conversation and comes last.

use productresearch_record::{Decision, StepKind, TerminationReason, Trajectory};

use crate::internalize::Internalized;

/// One filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// The record is broken: `Trajectory::validate` fails, or the step protocol is
    /// violated (an approved call not followed by its result, a result without an
    /// approved call, call arguments that are not a JSON object, a step after the
    /// approved report).
    Structure,
    /// The intent is missing or its query is empty: there is no user turn.
    NoQuery,
    /// The trajectory did not end with an approved report.
    Approved,
    /// Too few approved tool calls with results.
    MinToolCalls,
    /// Too few assistant turns in the internalized conversation.
    MinAssistantTurns,
}

impl Filter {
    /// The order the filters run in.
    pub const ORDER: [Filter; 5] = [Filter::Structure, Filter::NoQuery, Filter::Approved, Filter::MinToolCalls, Filter::MinAssistantTurns];

    /// The name reported with a drop.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Structure => "structure",
            Filter::NoQuery => "no_query",
            Filter::Approved => "approved",
            Filter::MinToolCalls => "min_tool_calls",
            Filter::MinAssistantTurns => "min_assistant_turns",
        }
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a filter dropped a trajectory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The filter.
    pub filter: Filter,
    /// What it found.
    pub reason: String,
}

impl Rejection {
    fn new(filter: Filter, reason: impl Into<String>) -> Self {
        Self { filter, reason: reason.into() }
    }
}

/// Runs the filters that look at the record itself (all but
/// [`Filter::MinAssistantTurns`]), in order.
pub fn screen(trajectory: &Trajectory, min_tool_calls: u32) -> Result<(), Rejection> {
    trajectory.validate().map_err(|reason| Rejection::new(Filter::Structure, reason))?;
    protocol(trajectory).map_err(|reason| Rejection::new(Filter::Structure, reason))?;

    if trajectory.intent().is_none_or(|i| i.query.trim().is_empty()) {
        return Err(Rejection::new(Filter::NoQuery, "the intent has no query"));
    }

    match trajectory.termination() {
        Some(t) if t.reason == TerminationReason::Approved => {}
        Some(t) => {
            let detail = if t.detail.is_empty() { String::new() } else { format!(" ({})", t.detail) };
            return Err(Rejection::new(Filter::Approved, format!("ended with {}{detail}, not an approved report", reason_name(t.reason))));
        }
        None => {
            return Err(Rejection::new(Filter::Approved, "the trajectory has not ended"));
        }
    }
    if trajectory.final_report().is_none() {
        return Err(Rejection::new(Filter::Approved, "ended as approved but no report was approved"));
    }

    let calls = approved_calls_with_results(trajectory);
    if calls < min_tool_calls {
        return Err(Rejection::new(Filter::MinToolCalls, format!("{calls} approved tool calls with results, fewer than {min_tool_calls}")));
    }
    Ok(())
}

/// Runs [`Filter::MinAssistantTurns`] on the internalized conversation.
pub fn depth(internalized: &Internalized, min_assistant_turns: u32) -> Result<(), Rejection> {
    let turns = internalized.assistant_turns();
    if turns < min_assistant_turns as usize {
        return Err(Rejection::new(Filter::MinAssistantTurns, format!("{turns} assistant turns, fewer than {min_assistant_turns}")));
    }
    Ok(())
}

/// The snake_case name of a termination reason, as in the JSONL record.
pub(crate) fn reason_name(reason: TerminationReason) -> String {
    serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{reason:?}"))
}

/// Checks what `Trajectory::validate` does not: the pairing of tool calls and
/// results and the end at the approved report. Internalization relies on both;
/// a record breaking them is bad input, dropped here rather than exported.
fn protocol(trajectory: &Trajectory) -> Result<(), String> {
    let mut awaiting: Option<&str> = None;
    let mut report_approved = false;
    for (event, step, verdict) in trajectory.steps() {
        let at = event.seq;
        if report_approved {
            return Err(format!("step at event {at} follows the approved report"));
        }
        let approved = verdict.is_some_and(|v| v.decision == Decision::Approve);
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

fn approved_calls_with_results(trajectory: &Trajectory) -> u32 {
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
    use productresearch_record::{EventBody, TerminationReason};

    use super::*;
    use crate::internalize::internalize;
    use crate::internalize::tests::{Script, supervised};

    fn dropped_by(t: &Trajectory, min_tool_calls: u32) -> Option<(&'static str, String)> {
        screen(t, min_tool_calls).err().map(|r| (r.filter.name(), r.reason))
    }

    #[test]
    fn a_good_trajectory_passes_every_filter() {
        let t = supervised();
        assert_eq!(screen(&t, 3), Ok(()));
        assert_eq!(depth(&internalize(&t, "s"), 5), Ok(()));
    }

    #[test]
    fn structure_drops_a_record_that_fails_validate() {
        let mut t = supervised();
        t.events.pop(); // no termination
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "structure");
        assert!(reason.contains("termination"), "{reason}");
    }

    #[test]
    fn structure_drops_broken_call_result_pairing() {
        // An approved call whose result answers another id.
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .call("c1", "web_search", "{}", None)
            .result("c9", "web_search", "x", None)
            .report("r", None)
            .end(TerminationReason::Approved);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "structure");
        assert!(reason.contains("c1 is not followed by its result"), "{reason}");
        // A result after a rejected call (rejected calls never run).
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .call("c1", "web_search", "{}", Some("no"))
            .result("c1", "web_search", "x", None)
            .report("r", None)
            .end(TerminationReason::Approved);
        assert!(dropped_by(&t, 0).unwrap().1.contains("answers no approved tool call"));
        // Arguments that are not a JSON object.
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", "query=x", "x")
            .report("r", None)
            .end(TerminationReason::Approved);
        assert!(dropped_by(&t, 0).unwrap().1.contains("not a JSON object"));
        // A step after the approved report.
        let t = Script::new("t", "q").plan("p", "", None).report("r", None).report("r2", None).end(TerminationReason::Approved);
        assert!(dropped_by(&t, 0).unwrap().1.contains("follows the approved report"));
    }

    #[test]
    fn no_query_drops_an_empty_query() {
        let t = Script::new("t", "   ").plan("p", "", None).report("r", None).end(TerminationReason::Approved);
        assert_eq!(dropped_by(&t, 0).unwrap().0, "no_query");
    }

    #[test]
    fn approved_drops_unapproved_endings() {
        let t = Script::new("t", "q").plan("p", "", None).report("r", Some("thin")).end(TerminationReason::RoundCap);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "approved");
        assert!(reason.contains("round_cap"), "{reason}");
        // Marked approved, but no report ever was.
        let t = Script::new("t", "q").plan("p", "", None).report("r", Some("thin")).end(TerminationReason::Approved);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "approved");
        assert!(reason.contains("no report was approved"), "{reason}");
    }

    #[test]
    fn a_truncated_call_is_dropped_as_unapproved_not_as_broken() {
        let mut s = Script::new("t", "q");
        s.plan("p", "", None).call("c1", "web_search", "{}", None);
        let t = s.end(TerminationReason::ToolFailure);
        assert_eq!(dropped_by(&t, 0).unwrap().0, "approved");
    }

    #[test]
    fn min_tool_calls_counts_approved_calls_with_results() {
        let t = supervised(); // c2, c3, c4 approved with results; c1 rejected
        assert_eq!(screen(&t, 3), Ok(()));
        let (name, reason) = dropped_by(&t, 4).unwrap();
        assert_eq!(name, "min_tool_calls");
        assert_eq!(reason, "3 approved tool calls with results, fewer than 4");
    }

    #[test]
    fn min_assistant_turns_counts_the_internalized_turns() {
        let t = supervised(); // plan, c2, c3, c4, report
        let out = internalize(&t, "s");
        assert_eq!(depth(&out, 5), Ok(()));
        let r = depth(&out, 6).unwrap_err();
        assert_eq!(r.filter.name(), "min_assistant_turns");
        assert_eq!(r.reason, "5 assistant turns, fewer than 6");
    }

    #[test]
    fn the_first_failing_filter_names_the_drop() {
        // Unapproved and too shallow: the approved filter runs first.
        let t = Script::new("t", "q").plan("p", "", None).report("r", Some("x")).end(TerminationReason::Budget);
        assert_eq!(dropped_by(&t, 5).unwrap().0, "approved");
        // Broken and unapproved: structure first.
        let mut t = t;
        t.events.retain(|e| !matches!(e.body, EventBody::Verdict(_)));
        for (i, e) in t.events.iter_mut().enumerate() {
            e.seq = i as u64;
        }
        assert_eq!(dropped_by(&t, 5).unwrap().0, "structure");
        assert_eq!(Filter::ORDER.map(Filter::name), ["structure", "no_query", "approved", "min_tool_calls", "min_assistant_turns"]);
    }
}
