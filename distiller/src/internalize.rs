//! Reflective internalization: the multi-role transcript (agent, supervisor,
//! tools) becomes one single-role conversation.
//!
//! Accepted steps become assistant turns in order; approved tool calls keep their
//! tool messages. Rejected steps vanish, and their feedback reappears as the
//! agent's own reflection at the start of the reasoning of the next accepted
//! turn, so the example teaches the corrected action together with the reason it
//! is better, and never shows a second role.

use std::collections::HashMap;

use productresearch_record::{Decision, Step, StepKind, Trajectory};
use serde::Serialize;

use crate::echo;
use crate::reflection;

/// One message of the exported conversation (OpenAI chat format).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    /// The instructions.
    System {
        /// Text.
        content: String,
    },
    /// The research query.
    User {
        /// Text.
        content: String,
    },
    /// One accepted step of the agent.
    Assistant {
        /// Plan or report text; empty for a tool call without text.
        content: String,
        /// The agent's reflections on rejected drafts, then its own reasoning.
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning_content: Option<String>,
        /// The call of a tool-call turn.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<FunctionCall>,
    },
    /// What an approved tool call returned.
    Tool {
        /// Id of the call it answers.
        tool_call_id: String,
        /// What the agent saw (an error text included).
        content: String,
    },
}

impl Message {
    /// What the example itself supplies (the user's words, what tools
    /// returned): a run of feedback words found there is not the supervisor's.
    pub fn source_text(&self) -> Option<&str> {
        match self {
            Message::User { content } | Message::Tool { content, .. } => Some(content),
            Message::System { .. } | Message::Assistant { .. } => None,
        }
    }
}

/// A tool call in an assistant message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionCall {
    /// Pairs the call with its tool message.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Which function, with which arguments.
    pub function: Function,
}

/// Name and arguments of a called function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Function {
    /// Tool name.
    pub name: String,
    /// Arguments, a JSON object as text (as the model wrote it).
    pub arguments: String,
}

/// A trajectory as one single-role conversation, with what it took to get there.
#[derive(Debug, Clone, PartialEq)]
pub struct Internalized {
    /// The conversation.
    pub messages: Vec<Message>,
    /// Report attempts (rounds) in the trajectory.
    pub rounds: u32,
    /// Tool calls in the conversation.
    pub tool_calls: u32,
    /// Rejected steps whose feedback became a reflection.
    pub rejections_internalized: u32,
}

impl Internalized {
    /// Assistant messages in the conversation.
    pub fn assistant_turns(&self) -> usize {
        self.messages.iter().filter(|m| matches!(m, Message::Assistant { .. })).count()
    }
}

/// Internalizes `trajectory`, opening the conversation with `system_prompt`,
/// with the rule-based reflections and the approved report as the last turn;
/// no reasoning repeats [`echo::ECHO_WORDS`] words of recorded feedback.
pub fn internalize(trajectory: &Trajectory, system_prompt: &str) -> Internalized {
    let final_seq = final_report_seq(trajectory, true);
    internalize_with(trajectory, system_prompt, &HashMap::new(), final_seq, echo::ECHO_WORDS)
}

/// The seq of the report that ends the example: the last approved report, or
/// (approval not required) the last report.
pub fn final_report_seq(trajectory: &Trajectory, require_approval: bool) -> Option<u64> {
    trajectory
        .steps()
        .into_iter()
        .rev()
        .find(|(_, s, v)| s.kind == StepKind::Report && (!require_approval || v.is_some_and(|v| v.approved())))
        .map(|(e, _, _)| e.seq)
}

/// Internalizes `trajectory` with `reflections` (rejected step's event seq →
/// the model's first-person reflection; a rejection missing from it gets the
/// rule-based one) and the report at `final_seq` as the last turn (the approved
/// one, or the last one when approval is not required). The reasoning of
/// every turn is condensed until it repeats no run of `echo_words` words of
/// any feedback the trajectory recorded (0: left as it is), the rule the
/// `feedback_echo` filter checks.
///
/// Expects a trajectory that passed the structure filter (every approved call
/// followed by its result, nothing after the approved report); anything else
/// yields a conversation the validator rejects.
pub fn internalize_with(
    trajectory: &Trajectory,
    system_prompt: &str,
    reflections: &HashMap<u64, String>,
    final_seq: Option<u64>,
    echo_words: usize,
) -> Internalized {
    let query = trajectory.intent().map(|i| i.query.trim().to_string()).unwrap_or_default();
    let mut messages = vec![Message::System { content: system_prompt.to_string() }, Message::User { content: query }];
    let (mut rounds, mut tool_calls, mut rejections) = (0, 0, 0);
    // Reflections waiting for the next accepted assistant turn.
    let mut lessons: Vec<String> = Vec::new();
    let lesson =
        |seq: u64, step: &Step, feedback: &str| reflections.get(&seq).cloned().unwrap_or_else(|| reflection::reflect(step, feedback));

    let user_turns = trajectory.user_turns_by_next_step();
    for (event, step, verdict) in trajectory.steps() {
        if let Some(turn) = user_turns.get(&event.seq) {
            // Multi-turn: the approved report before answered the previous turn;
            // the user's follow-up comes next, as the user's own message.
            messages.push(Message::User { content: turn.follow_up.message.trim().to_string() });
        }
        if step.kind == StepKind::Report {
            rounds += 1;
        }
        let is_final = final_seq == Some(event.seq);
        let feedback = verdict.filter(|v| v.decision == Decision::Revise && !is_final).map(|v| v.feedback.as_str());
        if step.kind == StepKind::ToolResult {
            // A result is not the agent's turn: it answers the call before it. Even
            // a rejected one stays, because the call ran and the agent saw what came
            // back; the rejection becomes a lesson like any other.
            if let Some(result) = &step.tool_result {
                messages.push(Message::Tool { tool_call_id: result.call_id.clone(), content: result.content.clone() });
            }
            if let Some(f) = feedback {
                lessons.push(lesson(event.seq, step, f));
                rejections += 1;
            }
            continue;
        }
        let approved = is_final || verdict.is_some_and(|v| v.approved());
        if !approved {
            // A rejected draft vanishes; only what was learned from it remains. A
            // step without a verdict (the record ended first) taught nothing.
            if let Some(f) = feedback {
                lessons.push(lesson(event.seq, step, f));
                rejections += 1;
            }
            continue;
        }
        let reasoning = reasoning_of(std::mem::take(&mut lessons), step);
        let turn = match step.kind {
            StepKind::ToolCall => {
                let Some(call) = &step.tool_call else {
                    continue;
                };
                tool_calls += 1;
                Message::Assistant {
                    content: step.text.clone(),
                    reasoning_content: reasoning,
                    tool_calls: vec![FunctionCall {
                        id: call.id.clone(),
                        kind: "function",
                        function: Function { name: call.name.clone(), arguments: call.arguments.clone() },
                    }],
                }
            }
            _ => Message::Assistant { content: step.text.clone(), reasoning_content: reasoning, tool_calls: Vec::new() },
        };
        messages.push(turn);
        if is_final {
            // The approved report ends the trajectory.
            break;
        }
    }
    // The lessons restate the feedback in the first person and keep its middle;
    // the agent's own reasoning may quote it. Both are condensed here, on the
    // whole reasoning of a turn, so no run survives across a lesson's edge.
    let echo = echo::banned(trajectory, messages.iter().filter_map(Message::source_text), echo_words);
    if !echo.is_empty() {
        for message in &mut messages {
            if let Message::Assistant { reasoning_content: Some(reasoning), .. } = message {
                *reasoning = reflection::condense(reasoning, &echo);
            }
        }
    }
    Internalized { messages, rounds, tool_calls, rejections_internalized: rejections }
}

/// The reasoning of an accepted turn: the lessons first (they explain why this
/// step looks the way it does), then the step's own reasoning, which may itself
/// have answered the supervisor and is neutralized for that reason.
fn reasoning_of(lessons: Vec<String>, step: &Step) -> Option<String> {
    let own = step.reasoning.trim();
    let mut parts = lessons;
    if !own.is_empty() {
        parts.push(reflection::neutralize(own));
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

#[cfg(test)]
pub(crate) mod tests {
    use productresearch_record::{EventBody, SupervisorState, TerminationReason, ToolResult, Verdict};

    use super::*;

    pub(crate) use productresearch_record::fixtures::Script;

    /// The brief's full protocol: plan rejected then revised; a tool call
    /// rejected then another approved; a report rejected in round 1, one more
    /// call, a report approved in round 2.
    pub(crate) fn supervised() -> Trajectory {
        Script::new("traj-1", "Which blender under $100 crushes ice best?")
            .plan("1. search blenders", "", Some("The plan does not compare warranty terms. Add a warranty check."))
            .plan("1. search blenders\n2. compare warranties", "I cover warranties now.", None)
            .call("c1", "web_search", r#"{"query":"blender"}"#, Some("The supervisor wants a narrower query."))
            .call("c2", "product_search", r#"{"query":"blender ice crushing under 100"}"#, None)
            .result("c2", "product_search", "1. Ninja BN701 $89", None)
            .tool("c3", "visit_product", r#"{"product_id":"ninja-bn701"}"#, "Ninja BN701: 1400 W, 2-year warranty")
            .report("Buy the Ninja.", Some("Reviewer: cite sources for the wattage claim"))
            .tool("c4", "web_visit", r#"{"url":"https://example.com/ninja"}"#, "Ninja BN701 review: crushes ice in 10 s")
            .report("Buy the Ninja BN701 ($89): 1400 W, 2-year warranty [visit_product], crushes ice in 10 s [web_visit].", None)
            .end(TerminationReason::Approved)
    }

    /// Two turns: an approved report, the user's follow-up, more research and
    /// the approved answer to the follow-up.
    pub(crate) fn two_turns() -> Trajectory {
        Script::new("traj-2", "Which blender under $100 crushes ice best?")
            .plan("1. search blenders", "", None)
            .tool("c1", "product_search", r#"{"query":"blender ice"}"#, "1. Ninja BN701 $89")
            .report("Buy the Ninja BN701 ($89) [ninja-bn701].", None)
            .follow_up(1, "Only ones with a glass jar, please.")
            .tool("c2", "product_search", r#"{"query":"blender glass jar"}"#, "1. Oster Pro $79")
            .report("Buy the Oster Pro ($79): it has a glass jar.", None)
            .end(TerminationReason::Approved)
    }

    #[test]
    fn a_follow_up_becomes_the_users_next_message_and_passes_every_format() {
        let t = two_turns();
        crate::filter::screen(&t, &crate::filter::FilterConfig::default()).expect("a two-turn record passes the filters");
        let out = internalize(&t, "sys");
        let roles: Vec<_> = out.messages.iter().map(role).collect();
        assert_eq!(roles, ["system", "user", "assistant", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]);
        assert!(matches!(&out.messages[6], Message::User { content } if content == "Only ones with a glass jar, please."));
        assert_eq!(assistant(&out.messages[9]).0, "Buy the Oster Pro ($79): it has a glass jar.");
        let example = crate::export::example(&t, &out, &[]);
        for format in crate::format::Format::ALL {
            crate::format::render(&example, format).unwrap_or_else(|v| panic!("{}: {v:?}", format.name()));
        }
    }

    #[test]
    fn a_step_after_the_approved_report_without_a_follow_up_is_still_dropped() {
        let mut t = two_turns();
        t.events.retain(|e| !matches!(e.body, EventBody::UserTurn(_)));
        for (seq, e) in t.events.iter_mut().enumerate() {
            e.seq = seq as u64;
        }
        let err = crate::filter::screen(&t, &crate::filter::FilterConfig::default()).unwrap_err();
        assert!(format!("{err:?}").contains("follows the approved report"), "{err:?}");
    }

    fn role(m: &Message) -> &'static str {
        match m {
            Message::System { .. } => "system",
            Message::User { .. } => "user",
            Message::Assistant { .. } => "assistant",
            Message::Tool { .. } => "tool",
        }
    }

    fn assistant(m: &Message) -> (&str, Option<&str>, Vec<&str>) {
        match m {
            Message::Assistant { content, reasoning_content, tool_calls } => {
                (content.as_str(), reasoning_content.as_deref(), tool_calls.iter().map(|c| c.id.as_str()).collect())
            }
            other => panic!("not an assistant message: {other:?}"),
        }
    }

    #[test]
    fn accepted_steps_become_the_exact_message_sequence() {
        let out = internalize(&supervised(), "SYS");
        let roles: Vec<&str> = out.messages.iter().map(role).collect();
        assert_eq!(roles, ["system", "user", "assistant", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant"]);
        assert_eq!(out.messages[0], Message::System { content: "SYS".into() });
        assert_eq!(out.messages[1], Message::User { content: "Which blender under $100 crushes ice best?".into() });
        assert_eq!(assistant(&out.messages[2]).0, "1. search blenders\n2. compare warranties");
        // Tool call ids pair each call with the tool message right after it; the
        // rejected call c1 left no trace.
        let pairs: Vec<(Vec<&str>, &str)> = out
            .messages
            .windows(2)
            .filter_map(|w| match (&w[0], &w[1]) {
                (Message::Assistant { tool_calls, .. }, Message::Tool { tool_call_id, .. }) if !tool_calls.is_empty() => {
                    Some((tool_calls.iter().map(|c| c.id.as_str()).collect(), tool_call_id.as_str()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(pairs, [(vec!["c2"], "c2"), (vec!["c3"], "c3"), (vec!["c4"], "c4")]);
        assert_eq!(
            assistant(out.messages.last().unwrap()).0,
            "Buy the Ninja BN701 ($89): 1400 W, 2-year warranty [visit_product], crushes ice in 10 s [web_visit]."
        );
        assert_eq!((out.rounds, out.tool_calls, out.rejections_internalized), (2, 3, 3));
        assert_eq!(out.assistant_turns(), 5);
    }

    #[test]
    fn reflections_land_in_the_next_accepted_turn() {
        let out = internalize(&supervised(), "SYS");
        // The rejected plan's lesson comes before the revised plan's own reasoning.
        assert_eq!(
            assistant(&out.messages[2]).1,
            Some(
                "Before I settle on a plan, I keep in mind that my plan should compare warranty terms. I should add a warranty check.\n\n\
                 I cover warranties now."
            )
        );
        // The rejected call's lesson is in the turn of the call that replaced it.
        let (_, reasoning, calls) = assistant(&out.messages[3]);
        assert_eq!(calls, ["c2"]);
        assert_eq!(
            reasoning,
            Some(
                "Weighing a web_search call with {\"query\":\"blender\"}, I keep in mind that I need a narrower query.\n\n\
                 calling product_search"
            )
        );
        // The turn after an approved step carries no lesson.
        assert_eq!(assistant(&out.messages[5]).1, Some("calling visit_product"));
        // The rejected round-1 report's lesson is in the next accepted turn: the
        // extra tool call of round 2, not the final report.
        let (_, reasoning, calls) = assistant(&out.messages[7]);
        assert_eq!(calls, ["c4"]);
        assert_eq!(
            reasoning,
            Some("Before I write the report, I keep in mind that I should cite sources for the wattage claim.\n\ncalling web_visit")
        );
        assert_eq!(assistant(&out.messages[9]).1, None);
    }

    #[test]
    fn no_supervisor_wording_or_rejected_draft_remains() {
        let out = internalize(&supervised(), "SYS");
        let json = serde_json::to_string(&out.messages).unwrap().to_lowercase();
        for word in ["supervisor", "reviewer", "feedback", "\"buy the ninja.\"", "\"c1\"", "\"1. search blenders\""] {
            assert!(!json.contains(word), "{word} in {json}");
        }
    }

    #[test]
    fn rejected_tool_result_keeps_its_call_and_teaches_the_next_turn() {
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .call("c1", "web_visit", r#"{"url":"https://a.example"}"#, None)
            .result("c1", "web_visit", "a cooking blog", Some("The page is off-topic."))
            .tool("c2", "product_search", r#"{"query":"x"}"#, "results")
            .report("r", None)
            .end(TerminationReason::Approved);
        let out = internalize(&t, "SYS");
        let roles: Vec<&str> = out.messages.iter().map(role).collect();
        assert_eq!(roles, ["system", "user", "assistant", "assistant", "tool", "assistant", "tool", "assistant"]);
        assert_eq!(
            assistant(&out.messages[5]).1,
            Some("Looking at what the web_visit call returned, I keep in mind that the page is off-topic.\n\ncalling product_search")
        );
        assert_eq!(out.rejections_internalized, 1);
    }

    #[test]
    fn tool_errors_stay_visible() {
        let mut s = Script::new("t", "q");
        s.plan("p", "", None).call("c1", "web_visit", r#"{"url":"https://a.example"}"#, None);
        let r = ToolResult { call_id: "c1".into(), name: "web_visit".into(), content: "error: timeout".into(), is_error: true };
        s.step(Step::result(r), Some(Verdict::approve(SupervisorState::CheckToolcall)));
        let t = s.report("r", None).end(TerminationReason::Approved);
        let out = internalize(&t, "SYS");
        assert_eq!(out.messages[4], Message::Tool { tool_call_id: "c1".into(), content: "error: timeout".into() });
    }

    #[test]
    fn serializes_as_openai_chat_messages() {
        let out = internalize(&supervised(), "SYS");
        let v = serde_json::to_value(&out.messages).unwrap();
        assert_eq!(
            v[3],
            serde_json::json!({
                "role": "assistant",
                "content": "",
                "reasoning_content": "Weighing a web_search call with {\"query\":\"blender\"}, I keep in mind that I need a narrower query.\n\ncalling product_search",
                "tool_calls": [{"id": "c2", "type": "function", "function": {"name": "product_search", "arguments": "{\"query\":\"blender ice crushing under 100\"}"}}]
            })
        );
        assert_eq!(v[4], serde_json::json!({"role": "tool", "tool_call_id": "c2", "content": "1. Ninja BN701 $89"}));
        assert_eq!(
            v[9],
            serde_json::json!({"role": "assistant", "content": "Buy the Ninja BN701 ($89): 1400 W, 2-year warranty [visit_product], crushes ice in 10 s [web_visit]."})
        );
    }
}
