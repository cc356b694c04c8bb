//! The last check before an example leaves the distiller.
//!
//! It reads the exported JSON itself, not the structs it was built from, so that
//! whatever a trainer would read is what was checked. Every rule has a name; a
//! violation fails the whole call (see [`crate::Error::InvalidExample`]) because
//! it means the distiller built something wrong, and a broken example silently
//! exported would teach a model the wrong protocol.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::vocabulary;

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Name of the rule.
    pub rule: &'static str,
    /// What exactly is wrong, with the message index.
    pub detail: String,
}

fn violation(rule: &'static str, detail: impl Into<String>) -> Result<(), Violation> {
    Err(Violation { rule, detail: detail.into() })
}

/// Checks one exported example against every rule:
///
/// - `shape`: an object with a `messages` array of objects and a `tools` array;
/// - `supervisor_role`: no message has the role `supervisor`;
/// - `roles`: roles are only system, user, assistant and tool;
/// - `opening`: the first message is the system message and the second the user's
///   query, both non-empty, and neither role appears again;
/// - `content`: every content is a string, and an assistant turn has content or a
///   tool call;
/// - `tool_call_arguments`: each tool call has an id, type `function`, a name and
///   arguments that parse as a JSON object;
/// - `unanswered_tool_call`: every call is answered by a tool message before the
///   next assistant turn;
/// - `orphan_tool_message`: every tool message answers a call still pending (so
///   no call is answered twice);
/// - `final_message`: the last message is an assistant message with non-empty
///   content and no tool call (the report);
/// - `internalized_wording`: no reasoning mentions the supervisor, a reviewer or
///   feedback;
/// - `error_text`: no tool message is an error text (see [`crate::failure`]).
pub fn check(example: &Value) -> Result<(), Violation> {
    let Some(messages) = example.get("messages").and_then(Value::as_array) else {
        return violation("shape", "no messages array");
    };
    if !example.get("tools").is_some_and(Value::is_array) {
        return violation("shape", "no tools array");
    }
    let mut pending: BTreeSet<String> = BTreeSet::new();
    for (i, m) in messages.iter().enumerate() {
        let Some(role) = m.get("role").and_then(Value::as_str) else {
            return violation("shape", format!("message {i} has no role"));
        };
        if role.eq_ignore_ascii_case("supervisor") {
            return violation("supervisor_role", format!("message {i} has the role supervisor"));
        }
        if !matches!(role, "system" | "user" | "assistant" | "tool") {
            return violation("roles", format!("message {i} has the role {role:?}"));
        }
        let expected = match i {
            0 => Some("system"),
            1 => Some("user"),
            _ => None,
        };
        match expected {
            Some(want) if role != want => {
                return violation("opening", format!("message {i} is {role}, expected {want}"));
            }
            // Multi-turn: a follow-up from the user is legal right after a finished
            // answer (an assistant message with text and no tool calls).
            None if role == "user" && i > 1 && messages.get(i - 1).is_some_and(is_finished_answer) => {}
            None if matches!(role, "system" | "user") => {
                return violation("opening", format!("message {i} is another {role} message"));
            }
            _ => {}
        }
        let Some(content) = m.get("content").and_then(Value::as_str) else {
            return violation("content", format!("message {i} ({role}) has no string content"));
        };
        if expected.is_some() && content.trim().is_empty() {
            return violation("opening", format!("message {i} ({role}) is empty"));
        }
        match role {
            "assistant" => {
                if !pending.is_empty() {
                    return violation("unanswered_tool_call", format!("tool calls {pending:?} unanswered before message {i}"));
                }
                let calls = match m.get("tool_calls") {
                    None => &[][..],
                    Some(Value::Array(calls)) => calls.as_slice(),
                    Some(_) => {
                        return violation("tool_call_arguments", format!("message {i} has tool_calls that are not an array"));
                    }
                };
                // An empty last turn is the missing report: `final_message` names it.
                if content.trim().is_empty() && calls.is_empty() && i + 1 < messages.len() {
                    return violation("content", format!("assistant message {i} has neither content nor a tool call"));
                }
                for call in calls {
                    let id = tool_call(call)
                        .map_err(|detail| Violation { rule: "tool_call_arguments", detail: format!("message {i}: {detail}") })?;
                    if !pending.insert(id.to_string()) {
                        return violation("tool_call_arguments", format!("message {i} repeats the tool call id {id}"));
                    }
                }
                match m.get("reasoning_content") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(r)) => {
                        if let Some(word) = vocabulary::role_word_in(r) {
                            return violation("internalized_wording", format!("reasoning of message {i} mentions {word:?}"));
                        }
                    }
                    Some(_) => {
                        return violation("content", format!("message {i} has reasoning_content that is not a string"));
                    }
                }
            }
            "tool" => {
                if crate::failure::is_error_text(content) {
                    return violation("error_text", format!("tool message {i} is an error text"));
                }
                let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
                if !pending.remove(id) {
                    return violation("orphan_tool_message", format!("tool message {i} answers {id:?}, which is not a pending call"));
                }
            }
            _ => {}
        }
    }
    if !pending.is_empty() {
        return violation("unanswered_tool_call", format!("tool calls {pending:?} unanswered at the end"));
    }
    match messages.last() {
        Some(last)
            if last.get("role").and_then(Value::as_str) == Some("assistant")
                && last.get("content").and_then(Value::as_str).is_some_and(|c| !c.trim().is_empty())
                && last.get("tool_calls").and_then(Value::as_array).is_none_or(Vec::is_empty) =>
        {
            Ok(())
        }
        _ => violation("final_message", "the last message is not an assistant report with content"),
    }
}

/// Checks a ShareGPT example (see [`crate::format`]): the LLaMA-Factory roles
/// only, human first, the sides alternating (human/observation, then
/// gpt/function_call), every `function_call` a parseable call answered by an
/// `observation`, the last turn a `gpt` report, and no error text or role word
/// in any assistant-side turn.
pub fn check_sharegpt(example: &Value) -> Result<(), Violation> {
    let Some(turns) = example.get("conversations").and_then(Value::as_array) else {
        return violation("shape", "no conversations array");
    };
    if !example.get("tools").is_some_and(Value::is_string) {
        return violation("shape", "tools is not a JSON string");
    }
    for (i, t) in turns.iter().enumerate() {
        let from = t.get("from").and_then(Value::as_str).unwrap_or("");
        let value = t.get("value").and_then(Value::as_str).unwrap_or("");
        let user_side = i % 2 == 0;
        match from {
            // Multi-turn: the user's follow-up after a finished gpt answer.
            "human" if user_side && (i == 0 || turns[i - 1].get("from").and_then(Value::as_str) == Some("gpt")) => {}
            "observation" if user_side && i > 0 => {
                if crate::failure::is_error_text(value) {
                    return violation("error_text", format!("turn {i} is an error text"));
                }
            }
            "gpt" | "function_call" if !user_side => {
                if let Some(word) =
                    vocabulary::role_word_in(value.split("</think>").next().filter(|_| value.contains("</think>")).unwrap_or(""))
                {
                    return violation("internalized_wording", format!("turn {i} reasoning mentions {word:?}"));
                }
                if from == "function_call" {
                    let body = value.rsplit("</think>").next().unwrap_or(value).trim();
                    let calls = match serde_json::from_str::<Value>(body) {
                        Ok(Value::Array(a)) => a,
                        Ok(v) => vec![v],
                        Err(e) => return violation("tool_call_arguments", format!("turn {i}: call is not JSON: {e}")),
                    };
                    if !calls
                        .iter()
                        .all(|c| c.get("name").is_some_and(Value::is_string) && c.get("arguments").is_some_and(Value::is_object))
                    {
                        return violation("tool_call_arguments", format!("turn {i}: a call lacks a name or object arguments"));
                    }
                    if turns.get(i + 1).and_then(|n| n.get("from")).and_then(Value::as_str) != Some("observation") {
                        return violation("unanswered_tool_call", format!("function_call turn {i} is not answered by an observation"));
                    }
                }
            }
            other => {
                return violation(
                    "roles",
                    format!("turn {i} has from {other:?} where the {} side was expected", if user_side { "user" } else { "assistant" }),
                );
            }
        }
    }
    match turns.last().and_then(|t| t.get("from")).and_then(Value::as_str) {
        Some("gpt") => Ok(()),
        _ => violation("final_message", "the last turn is not a gpt report"),
    }
}

/// Checks a Qwen/Hermes training text: ChatML turns of the legal roles only,
/// every `<tool_call>` a JSON call with object arguments, as many
/// `<tool_response>` blocks as calls, and the text ending on an assistant turn.
pub fn check_hermes(text: &str) -> Result<(), Violation> {
    let mut calls = 0;
    let mut responses = 0;
    let mut last_role = "";
    for (i, turn) in text.split("<|im_start|>").skip(1).enumerate() {
        let role = turn.split('\n').next().unwrap_or("");
        if !matches!(role, "system" | "user" | "assistant") {
            return violation("roles", format!("turn {i} has the role {role:?}"));
        }
        if !turn.trim_end().ends_with("<|im_end|>") {
            return violation("shape", format!("turn {i} is not closed"));
        }
        let mut rest = turn;
        while role == "assistant"
            && let Some(open) = rest.find("<tool_call>\n")
        {
            let after = &rest[open + "<tool_call>\n".len()..];
            let Some(close) = after.find("\n</tool_call>") else {
                return violation("tool_call_arguments", format!("turn {i}: unclosed <tool_call>"));
            };
            let call: Value = serde_json::from_str(&after[..close])
                .map_err(|e| Violation { rule: "tool_call_arguments", detail: format!("turn {i}: call is not JSON: {e}") })?;
            if !call.get("arguments").is_some_and(Value::is_object) {
                return violation("tool_call_arguments", format!("turn {i}: arguments are not an object"));
            }
            calls += 1;
            rest = &after[close..];
        }
        if role == "user" {
            responses += turn.matches("<tool_response>\n").count();
        }
        last_role = role;
    }
    if calls != responses {
        return violation("unanswered_tool_call", format!("{calls} tool calls but {responses} tool responses"));
    }
    if last_role != "assistant" {
        return violation("final_message", "the text does not end on an assistant turn");
    }
    Ok(())
}

/// An assistant message that answers the user: text, no tool calls.
fn is_finished_answer(m: &Value) -> bool {
    m.get("role").and_then(Value::as_str) == Some("assistant")
        && m.get("content").and_then(Value::as_str).is_some_and(|c| !c.trim().is_empty())
        && m.get("tool_calls").and_then(Value::as_array).is_none_or(|c| c.is_empty())
}

/// The id of a well-formed tool call, or what is wrong with it.
fn tool_call(call: &Value) -> Result<&str, String> {
    let id = call.get("id").and_then(Value::as_str).filter(|id| !id.trim().is_empty()).ok_or("a tool call has no id")?;
    if call.get("type").and_then(Value::as_str) != Some("function") {
        return Err(format!("tool call {id} is not of type function"));
    }
    let function = call.get("function").ok_or_else(|| format!("tool call {id} has no function"))?;
    if function.get("name").and_then(Value::as_str).is_none_or(|n| n.trim().is_empty()) {
        return Err(format!("tool call {id} has no function name"));
    }
    let arguments = function.get("arguments").and_then(Value::as_str).ok_or_else(|| format!("tool call {id} has no arguments text"))?;
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(_)) => Ok(id),
        _ => Err(format!("arguments of tool call {id} are not a JSON object: {arguments:?}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::export::example;
    use crate::internalize::internalize;
    use crate::internalize::tests::supervised;

    fn good() -> Value {
        json!({
            "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "which blender?"},
                {"role": "assistant", "content": "plan", "reasoning_content": "I should compare."},
                {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "product_search", "arguments": "{\"query\":\"blender\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "results"},
                {"role": "assistant", "content": "report"}
            ],
            "tools": [],
            "meta": {}
        })
    }

    fn rule_broken_by(edit: impl FnOnce(&mut Vec<Value>)) -> &'static str {
        let mut v = good();
        edit(v["messages"].as_array_mut().unwrap());
        check(&v).unwrap_err().rule
    }

    #[test]
    fn a_good_example_passes() {
        assert_eq!(check(&good()), Ok(()));
        let t = supervised();
        assert_eq!(check(&example(&t, &internalize(&t, "sys"), &[])), Ok(()));
    }

    #[test]
    fn an_unanswered_call_is_rejected() {
        assert_eq!(
            rule_broken_by(|m| {
                m.remove(4);
            }),
            "unanswered_tool_call"
        );
        // Answered only after the next assistant turn.
        assert_eq!(rule_broken_by(|m| m.swap(4, 5)), "unanswered_tool_call");
    }

    #[test]
    fn an_orphan_tool_message_is_rejected() {
        assert_eq!(rule_broken_by(|m| m[4]["tool_call_id"] = json!("c9")), "orphan_tool_message");
        // The same call answered twice.
        assert_eq!(
            rule_broken_by(|m| m.insert(5, json!({"role": "tool", "tool_call_id": "c1", "content": "again"}))),
            "orphan_tool_message"
        );
        // A tool message with no call before it.
        assert_eq!(rule_broken_by(|m| m.insert(2, json!({"role": "tool", "tool_call_id": "c1", "content": "x"}))), "orphan_tool_message");
    }

    #[test]
    fn bad_json_arguments_are_rejected() {
        assert_eq!(rule_broken_by(|m| m[3]["tool_calls"][0]["function"]["arguments"] = json!("{query: blender")), "tool_call_arguments");
        // Valid JSON, but not an object.
        assert_eq!(rule_broken_by(|m| m[3]["tool_calls"][0]["function"]["arguments"] = json!("[\"blender\"]")), "tool_call_arguments");
        assert_eq!(rule_broken_by(|m| m[3]["tool_calls"][0]["id"] = json!("")), "tool_call_arguments");
    }

    #[test]
    fn a_supervisor_role_is_rejected() {
        assert_eq!(rule_broken_by(|m| m.insert(3, json!({"role": "supervisor", "content": "revise"}))), "supervisor_role");
        assert_eq!(rule_broken_by(|m| m[2]["role"] = json!("critic")), "roles");
    }

    #[test]
    fn an_empty_final_content_is_rejected() {
        assert_eq!(rule_broken_by(|m| m[5]["content"] = json!("  ")), "final_message");
        // Ending on a tool message.
        assert_eq!(
            rule_broken_by(|m| {
                m.pop();
            }),
            "final_message"
        );
    }

    #[test]
    fn the_opening_must_be_system_then_user() {
        assert_eq!(rule_broken_by(|m| m.swap(0, 1)), "opening");
        assert_eq!(rule_broken_by(|m| m[1]["content"] = json!("")), "opening");
        assert_eq!(rule_broken_by(|m| m.insert(5, json!({"role": "user", "content": "more?"}))), "opening");
    }

    #[test]
    fn role_words_in_reasoning_are_rejected() {
        for text in ["The supervisor wants more.", "per REVIEWER notes", "Given the feedback"] {
            assert_eq!(rule_broken_by(|m| m[2]["reasoning_content"] = json!(text)), "internalized_wording", "{text}");
        }
    }

    #[test]
    fn an_empty_assistant_turn_is_rejected() {
        assert_eq!(rule_broken_by(|m| m[2]["content"] = json!("")), "content");
    }
}
