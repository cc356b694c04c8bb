//! The training formats an example is written in. Every one is derived from the
//! validated OpenAI-chat example (so the same conversation is checked once and
//! only re-shaped), then checked again in its own shape:
//!
//! - `openai`: `{"messages": [...], "tools": [...], "meta": {...}}`, chat messages
//!   with `tool_calls` and `reasoning_content` (vLLM/TRL/OpenAI fine-tuning shape);
//! - `sharegpt`: LLaMA-Factory's ShareGPT with function calls:
//!   `{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value"}],
//!   "system", "tools" (a JSON string), "meta"}`. LLaMA-Factory wants the sides to
//!   alternate, so an assistant text turn followed directly by another assistant
//!   turn (the plan before the first call) is folded into the later turn's
//!   `<think>` block; a `function_call` value is `<think>…</think>` (when there is
//!   reasoning) followed by the call as `{"name", "arguments"}` JSON;
//! - `hermes`: the Qwen/Hermes training text (`{"text", "meta"}`): ChatML turns,
//!   the tool schemas in `<tools>`, calls in `<tool_call>`, results in
//!   `<tool_response>` inside user turns, reasoning in `<think>`.

use serde_json::{Value, json};

use crate::validate::Violation;

/// A training format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// OpenAI chat messages with tool_calls.
    #[default]
    Openai,
    /// LLaMA-Factory ShareGPT with function_call / observation turns.
    Sharegpt,
    /// Qwen/Hermes ChatML text with <tool_call>/<tool_response> and <think>.
    Hermes,
}

impl Format {
    /// All formats.
    pub const ALL: [Format; 3] = [Format::Openai, Format::Sharegpt, Format::Hermes];

    /// Name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Format::Openai => "openai",
            Format::Sharegpt => "sharegpt",
            Format::Hermes => "hermes",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown format {s:?}: use openai, sharegpt or hermes"))
    }
}

/// `example` (the validated OpenAI form) in `format`, checked in that shape.
pub fn render(example: &Value, format: Format) -> Result<Value, Violation> {
    let out = match format {
        Format::Openai => example.clone(),
        Format::Sharegpt => sharegpt(example),
        Format::Hermes => json!({"text": hermes_text(example), "meta": example["meta"]}),
    };
    match format {
        Format::Openai => crate::validate::check(&out)?,
        Format::Sharegpt => crate::validate::check_sharegpt(&out)?,
        Format::Hermes => crate::validate::check_hermes(out["text"].as_str().unwrap_or_default())?,
    }
    Ok(out)
}

fn text<'a>(m: &'a Value, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

fn calls(m: &Value) -> &[Value] {
    m.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// A call as `{"name": …, "arguments": …}` text, as Qwen2.5's chat template
/// and LLaMA-Factory's `qwen` tool format write it: `name` first, Python's
/// `json.dumps` spacing, and the arguments in the order the model wrote them
/// (a `Value` would sort them).
fn call_text(call: &Value) -> String {
    let f = &call["function"];
    format!(r#"{{"name": "{}", "arguments": {}}}"#, text(f, "name"), python_json(text(f, "arguments")))
}

/// `raw` JSON re-spaced as Python's `json.dumps(…, ensure_ascii=False)` writes
/// it (`", "` and `": "` separators, strings escaped as serde_json escapes them,
/// which is Python's set), keeping its key order.
pub fn python_json(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + raw.len() / 8);
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                // The whole string token, re-escaped.
                let mut end = i + 1;
                let mut escaped = false;
                for (j, d) in chars.by_ref() {
                    end = j + d.len_utf8();
                    match d {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                match serde_json::from_str::<String>(&raw[i..end]) {
                    Ok(s) => out.push_str(&Value::String(s).to_string()),
                    Err(_) => out.push_str(&raw[i..end]),
                }
            }
            ',' => out.push_str(", "),
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// The assistant text a chat template is given: the reasoning as a `<think>`
/// block, then the content (separated by a blank line when both are there).
pub fn assistant_text(m: &Value) -> String {
    let reasoning = text(m, "reasoning_content").trim();
    let content = text(m, "content");
    match (reasoning.is_empty(), content.is_empty()) {
        (true, _) => content.to_string(),
        (false, true) => format!("<think>\n{reasoning}\n</think>"),
        (false, false) => format!("<think>\n{reasoning}\n</think>\n\n{content}"),
    }
}

fn think(reasoning: &str) -> String {
    if reasoning.trim().is_empty() { String::new() } else { format!("<think>\n{}\n</think>\n\n", reasoning.trim()) }
}

fn sharegpt(example: &Value) -> Value {
    let messages = example["messages"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut conversations = Vec::new();
    let mut system = String::new();
    // Text of assistant turns waiting to be folded into the next assistant turn.
    let mut carried: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match text(m, "role") {
            "system" => system = text(m, "content").to_string(),
            "user" => conversations.push(json!({"from": "human", "value": text(m, "content")})),
            "tool" => conversations.push(json!({"from": "observation", "value": text(m, "content")})),
            _ => {
                let mut reasoning = std::mem::take(&mut carried);
                if !text(m, "reasoning_content").trim().is_empty() {
                    reasoning.push(text(m, "reasoning_content").trim().to_string());
                }
                let next_is_assistant = messages.get(i + 1).is_some_and(|n| text(n, "role") == "assistant");
                let content = text(m, "content").trim();
                if calls(m).is_empty() && next_is_assistant {
                    reasoning.push(content.to_string());
                    carried = reasoning;
                    continue;
                }
                let thought = think(&reasoning.join("\n\n"));
                if calls(m).is_empty() {
                    conversations.push(json!({"from": "gpt", "value": format!("{thought}{content}")}));
                } else {
                    if !content.is_empty() {
                        reasoning.push(content.to_string());
                    }
                    let thought = think(&reasoning.join("\n\n"));
                    let called: Vec<String> = calls(m).iter().map(call_text).collect();
                    let body = if called.len() == 1 { called[0].clone() } else { format!("[{}]", called.join(", ")) };
                    conversations.push(json!({"from": "function_call", "value": format!("{thought}{body}")}));
                }
            }
        }
    }
    // The OpenAI tool objects as they are: LLaMA-Factory's qwen format keeps a
    // tool that already says `"type": "function"`, so the system turn renders
    // as the Hermes text and the served model's does.
    let tools = python_json(&example["tools"].to_string());
    json!({"conversations": conversations, "system": system, "tools": tools, "meta": example["meta"]})
}

/// Qwen2.5's tool preamble, as its chat template writes it.
const HERMES_TOOLS_HEAD: &str = "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n\
You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
const HERMES_TOOLS_TAIL: &str = "\n</tools>\n\nFor each function call, return a json object with function name and arguments within \
<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

/// The ChatML training text of `example` (Qwen2.5 / Hermes tool format).
pub fn hermes_text(example: &Value) -> String {
    let messages = example["messages"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut out = String::with_capacity(4096);
    let tools = example["tools"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut previous_role = "";
    for m in messages {
        let role = text(m, "role");
        match role {
            "system" => {
                out.push_str("<|im_start|>system\n");
                out.push_str(text(m, "content"));
                if !tools.is_empty() {
                    out.push_str(HERMES_TOOLS_HEAD);
                    for t in tools {
                        out.push('\n');
                        out.push_str(&python_json(&t.to_string()));
                    }
                    out.push_str(HERMES_TOOLS_TAIL);
                }
                out.push_str("<|im_end|>\n");
            }
            "user" => {
                out.push_str("<|im_start|>user\n");
                out.push_str(text(m, "content"));
                out.push_str("<|im_end|>\n");
            }
            "tool" => {
                // Consecutive tool results share one user turn, as in Qwen's template.
                if previous_role != "tool" {
                    out.push_str("<|im_start|>user");
                }
                out.push_str("\n<tool_response>\n");
                out.push_str(text(m, "content"));
                out.push_str("\n</tool_response>");
            }
            _ => {
                if previous_role == "tool" {
                    out.push_str("<|im_end|>\n");
                }
                // As Qwen2.5's template: a call turn opens without a newline
                // when it has no text, each call on its own line.
                let body = assistant_text(m);
                out.push_str("<|im_start|>assistant");
                if calls(m).is_empty() || !body.is_empty() {
                    out.push('\n');
                    out.push_str(&body);
                }
                for call in calls(m) {
                    out.push_str("\n<tool_call>\n");
                    out.push_str(&call_text(call));
                    out.push_str("\n</tool_call>");
                }
                out.push_str("<|im_end|>\n");
            }
        }
        previous_role = role;
    }
    if previous_role == "tool" {
        out.push_str("<|im_end|>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::example;
    use crate::internalize::internalize;
    use crate::internalize::tests::supervised;

    fn openai() -> Value {
        let t = supervised();
        let tools = [productresearch_record::ToolSpec {
            name: "product_search".into(),
            description: "Search the catalog".into(),
            parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}).into(),
        }];
        example(&t, &internalize(&t, "SYS"), &tools)
    }

    #[test]
    fn sharegpt_alternates_and_folds_the_plan_into_the_first_call() {
        let v = render(&openai(), Format::Sharegpt).unwrap();
        let from: Vec<&str> = v["conversations"].as_array().unwrap().iter().map(|t| t["from"].as_str().unwrap()).collect();
        assert_eq!(from, ["human", "function_call", "observation", "function_call", "observation", "function_call", "observation", "gpt"]);
        let first = v["conversations"][1]["value"].as_str().unwrap();
        assert!(first.starts_with("<think>\nBefore I settle on a plan"), "{first}");
        assert!(first.contains("1. search blenders\n2. compare warranties"), "{first}");
        assert!(
            first.ends_with(
                r#"</think>

{"name": "product_search", "arguments": {"query": "blender ice crushing under 100"}}"#
            ),
            "{first}"
        );
        assert_eq!(v["system"], "SYS");
        let tools: Value = serde_json::from_str(v["tools"].as_str().unwrap()).unwrap();
        assert_eq!((tools[0]["type"].as_str(), tools[0]["function"]["name"].as_str()), (Some("function"), Some("product_search")));
    }

    #[test]
    fn hermes_text_has_tagged_calls_responses_and_think() {
        let v = render(&openai(), Format::Hermes).unwrap();
        let text = v["text"].as_str().unwrap();
        assert!(text.starts_with("<|im_start|>system\nSYS\n\n# Tools"));
        assert!(text.contains("<tools>\n{\"function\": {\"description\": \"Search the catalog\""), "{text}");
        // As Qwen2.5's template: name first, Python's spacing, the model's key order.
        assert_eq!(text.matches("<tool_call>\n{\"name\": \"").count(), 3);
        assert!(
            text.contains("<tool_call>\n{\"name\": \"visit_product\", \"arguments\": {\"product_id\": \"ninja-bn701\"}}\n</tool_call>")
        );
        assert_eq!(text.matches("<tool_response>\n").count(), 3);
        // A call turn with reasoning but no text: the think block, then the call on the next line.
        assert!(text.contains("<|im_start|>user\n<tool_response>\n1. Ninja BN701 $89\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\ncalling visit_product\n</think>\n<tool_call>\n"));
        assert!(text.ends_with("crushes ice in 10 s [web_visit].<|im_end|>\n"));
    }

    #[test]
    fn a_call_turn_without_text_opens_on_the_call() {
        let mut o = openai();
        o["messages"][5]["reasoning_content"] = Value::Null;
        let text = hermes_text(&o);
        assert!(text.contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"visit_product\""), "{text}");
        assert!(!text.contains("<|im_start|>assistant\n\n"), "{text}");
    }

    #[test]
    fn python_json_respaces_and_keeps_key_order() {
        assert_eq!(
            python_json(r#"{"query":"a, b: c","limit":5,"x":[1,2,{"é":"\u00e9\n"}]}"#),
            r#"{"query": "a, b: c", "limit": 5, "x": [1, 2, {"é": "é\n"}]}"#
        );
        assert_eq!(python_json(r#"{ "a" : "q\"uote" }"#), r#"{"a": "q\"uote"}"#);
    }

    #[test]
    fn broken_renderings_fail_their_validators() {
        let mut v = render(&openai(), Format::Sharegpt).unwrap();
        v["conversations"].as_array_mut().unwrap().remove(2); // an unanswered call
        assert_eq!(crate::validate::check_sharegpt(&v).unwrap_err().rule, "unanswered_tool_call");
        let text = render(&openai(), Format::Hermes).unwrap()["text"].as_str().unwrap().replacen("<tool_response>\n", "", 1);
        assert_eq!(crate::validate::check_hermes(&text).unwrap_err().rule, "unanswered_tool_call");
        let text =
            render(&openai(), Format::Hermes).unwrap()["text"].as_str().unwrap().replacen("<|im_start|>user", "<|im_start|>supervisor", 1);
        assert_eq!(crate::validate::check_hermes(&text).unwrap_err().rule, "roles");
        let mut o = openai();
        o["messages"][4]["content"] = json!("Error: connection reset");
        assert_eq!(render(&o, Format::Openai).unwrap_err().rule, "error_text");
    }
}
