//! A minimal research agent and tool gateway, enough to drive the simulator's tool script
//! the way the real research agent does.

use productresearch_sim_llm::SimHandle;
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

/// What one research run did.
pub struct Trace {
    /// (call id, tool name, parsed arguments) in order.
    pub calls: Vec<(String, String, Value)>,
    pub report: String,
    pub messages: Vec<Value>,
}

/// Runs the act loop until the model writes its report.
pub async fn run(sim: &SimHandle, mut messages: Vec<Value>, tools: &Value) -> Trace {
    let mut calls = Vec::new();
    for _ in 0..12 {
        let request = json!({"model": "m", "messages": messages, "tools": tools, "tool_choice": "auto"});
        let (status, completion) = chat(sim, &request).await;
        assert_eq!(status, StatusCode::OK, "{completion}");
        let reply = message(&completion).clone();
        let finish = completion["choices"][0]["finish_reason"].as_str().unwrap().to_owned();
        let Some(tool_calls) = reply["tool_calls"].as_array() else {
            assert_eq!(finish, "stop");
            let report = reply["content"].as_str().expect("report text").to_owned();
            return Trace { calls, report, messages };
        };
        assert_eq!(finish, "tool_calls");
        assert!(reply["content"].is_null(), "{reply}");
        assert_eq!(tool_calls.len(), 1, "exactly one call per turn");
        let call = &tool_calls[0];
        assert_eq!(call["type"], "function");
        let id = call["id"].as_str().unwrap().to_owned();
        let name = call["function"]["name"].as_str().unwrap().to_owned();
        let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).expect("arguments are JSON");
        messages.push(reply.clone());
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": run_tool(&name, &args)}));
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
