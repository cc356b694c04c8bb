//! A minimal research agent and tool gateway, enough to drive the simulator's tool script
//! the way the real research agent does, natively or in the text form of small local models.

use std::fmt::Write;

use productresearch_sim_llm::{SimHandle, TextToolStyle};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{chat, message};

pub const QUERY: &str = "Which noise cancelling headphones under 400 should I buy? Compare at least three.";

fn tool(name: &str, properties: Value, required: &[&str]) -> Value {
    json!({"type": "function", "function": {
        "name": name,
        "description": format!("the {name} tool"),
        "parameters": {"type": "object", "properties": properties, "required": required},
    }})
}

/// The four tools the research agent offers.
pub fn tools() -> Value {
    json!([
        tool("product_search", json!({"query": {"type": "string"}, "limit": {"type": "integer"}}), &["query"]),
        tool("visit_product", json!({"product_id": {"type": "string"}}), &["product_id"]),
        tool("web_search", json!({"query": {"type": "string"}, "limit": {"type": "integer"}}), &["query"]),
        tool("web_visit", json!({"url": {"type": "string"}}), &["url"]),
    ])
}

/// Canned tool gateway answers, shaped like the real gateway's.
pub fn run_tool(name: &str, args: &Value) -> String {
    let answer = match name {
        "product_search" => json!({"results": [
            {"product_id": "P-100", "title": "Sony WH-1000XM5", "price": 348.0, "rating": 4.7},
            {"product_id": "P-200", "title": "Bose QuietComfort Ultra", "price": 379.0, "rating": 4.6},
            {"product_id": "P-300", "title": "Anker Soundcore Q45", "price": 99.99, "rating": 4.3}
        ], "total": 3}),
        "visit_product" => json!({"product_id": args["product_id"], "title": "Sony WH-1000XM5",
            "price": 348.0, "rating": 4.7, "description": "Industry-leading noise cancelling."}),
        "web_search" => json!({"results": [
            {"url": "https://reviews.example/sony-xm5", "title": "XM5 review", "snippet": "Best ANC"},
            {"url": "https://reviews.example/bose-ultra", "title": "Bose review", "snippet": "Comfy"}
        ]}),
        "web_visit" => {
            json!({"url": args["url"], "content": "The XM5 has excellent noise cancelling."})
        }
        other => panic!("unexpected tool {other}"),
    };
    answer.to_string()
}

/// How tool use travels between the agent and the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `tools` in the request, `tool_calls` in the reply.
    Native,
    /// Catalog in the system prompt, and the `oneOf` action schema as `response_format`.
    JsonSchema,
    /// Catalog in the system prompt only; calls are read out of free text in this style.
    Lenient(TextToolStyle),
}

pub const CATALOG_HEADER: &str = "Available tools (JSON schemas):";

/// `system` with the tool catalog appended, as the client writes it for the text form;
/// unchanged if it already has one.
pub fn with_catalog(system: &str, tools: &Value) -> String {
    if system.contains(CATALOG_HEADER) {
        return system.to_owned();
    }
    let mut out = format!("{system}\n\n{CATALOG_HEADER}\n");
    for tool in tools.as_array().unwrap() {
        let _ = writeln!(out, "- {}: {}", tool["function"]["name"].as_str().unwrap(), tool["function"]["parameters"]);
    }
    out.push_str(
        "To call a tool, answer with one JSON object: {\"tool\": \"<name>\", \"arguments\": {...}}.\n\
         When you have enough evidence, write the report instead.",
    );
    out
}

/// The conversation with the catalog appended to its first system message.
pub fn in_text_form(mut messages: Vec<Value>, tools: &Value) -> Vec<Value> {
    if let Some(system) = messages.iter_mut().find(|m| m["role"] == "system") {
        system["content"] = Value::String(with_catalog(system["content"].as_str().unwrap_or_default(), tools));
    }
    messages
}

/// The json_schema mode's `response_format`: one entry per tool, then the report.
pub fn action_format(tools: &Value) -> Value {
    let mut choices: Vec<Value> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| {
            json!({"type": "object",
                "properties": {"tool": {"const": tool["function"]["name"]}, "arguments": tool["function"]["parameters"]},
                "required": ["tool", "arguments"], "additionalProperties": false})
        })
        .collect();
    choices.push(json!({"type": "object", "properties": {"report": {"type": "string"}},
        "required": ["report"], "additionalProperties": false}));
    json!({"type": "json_schema", "json_schema": {"name": "action", "schema": {"oneOf": choices}}})
}

/// The act request for `form`; text forms send no `tools`.
pub fn request(form: Form, messages: &[Value], tools: &Value) -> Value {
    match form {
        Form::Native => json!({"model": "m", "messages": messages, "tools": tools, "tool_choice": "auto"}),
        Form::JsonSchema => json!({"model": "m", "messages": messages, "response_format": action_format(tools)}),
        Form::Lenient(_) => json!({"model": "m", "messages": messages}),
    }
}

/// One model turn as the agent reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Native calls carry their id; text-form ones get theirs from the agent.
    Call {
        id: Option<String>,
        name: String,
        arguments: Value,
    },
    Report(String),
}

/// The model's turn, asserting the reply is well-formed for `form`.
pub fn read_reply(form: Form, completion: &Value) -> Step {
    let reply = message(completion);
    let finish = completion["choices"][0]["finish_reason"].as_str().unwrap();
    if form == Form::Native {
        let Some(tool_calls) = reply["tool_calls"].as_array() else {
            assert_eq!(finish, "stop");
            return Step::Report(reply["content"].as_str().expect("report text").to_owned());
        };
        assert_eq!(finish, "tool_calls");
        assert!(reply["content"].is_null(), "{reply}");
        assert_eq!(tool_calls.len(), 1, "exactly one call per turn");
        let call = &tool_calls[0];
        assert_eq!(call["type"], "function");
        let arguments = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).expect("arguments are JSON");
        let name = call["function"]["name"].as_str().unwrap().to_owned();
        return Step::Call { id: Some(call["id"].as_str().unwrap().to_owned()), name, arguments };
    }
    assert_eq!(finish, "stop");
    assert!(reply.get("tool_calls").is_none(), "text form never calls natively: {reply}");
    let content = reply["content"].as_str().expect("text content");
    match text_call(form, content) {
        Some((name, arguments)) => Step::Call { id: None, name, arguments },
        None if form == Form::JsonSchema => {
            let action: Value = serde_json::from_str(content).expect("json_schema replies are JSON");
            assert_eq!(action.as_object().unwrap().len(), 1, "{action}");
            Step::Report(action["report"].as_str().expect("a report action").to_owned())
        }
        None => {
            assert!(serde_json::from_str::<Value>(content).is_err() && !content.contains("```"), "report is prose: {content}");
            Step::Report(content.to_owned())
        }
    }
}

/// The call a text-form reply makes, read the strict way its form prescribes; `None` when
/// the reply is no call.
pub fn text_call(form: Form, content: &str) -> Option<(String, Value)> {
    let (json, name_key) = match form {
        Form::Native => unreachable!("native calls are not text"),
        Form::JsonSchema | Form::Lenient(TextToolStyle::Bare) => (content, "tool"),
        Form::Lenient(TextToolStyle::Fenced) => {
            let (prose, fenced) = content.split_once("```json\n")?;
            assert!(!prose.trim().is_empty(), "a small model says what it is doing: {content}");
            (fenced.strip_suffix("\n```").expect("fence closes the reply"), "tool")
        }
        Form::Lenient(TextToolStyle::Tagged) => {
            let tagged = content.strip_prefix("<tool_call>\n")?;
            (tagged.strip_suffix("\n</tool_call>").expect("tag closes the reply"), "name")
        }
    };
    let call: Value = serde_json::from_str(json).ok()?;
    let name = call.get(name_key)?.as_str().expect("tool name is a string").to_owned();
    assert_eq!(call.as_object().unwrap().len(), 2, "only the name and the arguments: {call}");
    Some((name, call["arguments"].clone()))
}

/// What one research run did.
pub struct Trace {
    /// (call id, tool name, parsed arguments) in order.
    pub calls: Vec<(String, String, Value)>,
    pub report: String,
    pub messages: Vec<Value>,
}

/// Runs the act loop in `form` until the model writes its report. In the text form the
/// history is kept the way the client rewrites it: each call as a `{"tool", "arguments"}`
/// assistant message, each result as a `Tool result for NAME (ID):` user message.
pub async fn run(sim: &SimHandle, form: Form, mut messages: Vec<Value>, tools: &Value) -> Trace {
    if form != Form::Native {
        messages = in_text_form(messages, tools);
    }
    let mut calls = Vec::new();
    for _ in 0..12 {
        let (status, completion) = chat(sim, &request(form, &messages, tools)).await;
        assert_eq!(status, StatusCode::OK, "{completion}");
        let (id, name, args) = match read_reply(form, &completion) {
            Step::Report(report) => return Trace { calls, report, messages },
            Step::Call { id, name, arguments } => (id.unwrap_or_else(|| format!("call_{}", calls.len())), name, arguments),
        };
        let output = run_tool(&name, &args);
        if form == Form::Native {
            messages.push(message(&completion).clone());
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": output}));
        } else {
            messages.push(json!({"role": "assistant", "content": json!({"tool": name, "arguments": args}).to_string()}));
            messages.push(json!({"role": "user", "content": format!("Tool result for {name} ({id}):\n{output}")}));
        }
        calls.push((id, name, args));
    }
    panic!("the simulated model never wrote its report");
}

pub fn opening() -> Vec<Value> {
    vec![
        json!({"role": "system", "content": "You are a research agent."}),
        json!({"role": "user", "content": format!("Research query: {QUERY}\nUse the tools.")}),
    ]
}
