use productresearch_sim_llm::SimConfig;
use serde_json::{Value, json};

use crate::agent::{self, Form, QUERY, opening, tools};
use crate::{chat, message, sim};

#[tokio::test]
async fn script_searches_visits_and_reports_with_citations() {
    let sim = sim(SimConfig::default()).await;
    let trace = agent::run(&sim, Form::Native, opening(), &tools()).await;

    let names: Vec<&str> = trace.calls.iter().map(|(_, name, _)| name.as_str()).collect();
    assert_eq!(names, ["product_search", "visit_product", "web_search", "web_visit"]);
    let ids: Vec<&str> = trace.calls.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, ["call_0", "call_1", "call_2", "call_3"]);

    let args: Vec<&Value> = trace.calls.iter().map(|(_, _, a)| a).collect();
    assert_eq!(args[0], &json!({"query": "noise cancelling headphones", "limit": 5}));
    assert_eq!(args[1], &json!({"product_id": "P-100"}), "first id of the search result");
    assert_eq!(args[2], &json!({"query": "noise cancelling headphones review", "limit": 5}));
    assert_eq!(args[3], &json!({"url": "https://reviews.example/sony-xm5"}), "first url of the web search");

    let report = &trace.report;
    assert!(report.starts_with(&format!("# Research report: {QUERY}")), "{report}");
    // This query's layout is the comparison table (layouts vary by query).
    assert!(report.contains("## Comparison") && report.contains("## Summary") && report.contains("## Sources"), "{report}");
    for id in ["[P-100]", "[P-200]", "[P-300]"] {
        assert!(report.contains(id), "{id} missing from:\n{report}");
    }
    assert!(report.contains("| [P-300] Anker Soundcore Q45 | 99.99 |"), "{report}");
    // Only the page it opened is a source; a search hit it never read is not.
    assert!(report.contains("- https://reviews.example/sony-xm5"), "{report}");
    assert!(!report.contains("bose-ultra"), "{report}");
    assert!(!report.contains("## Revisions"));

    // Sent back once: the rewrite answers the critique.
    let mut messages = trace.messages;
    messages.push(json!({"role": "assistant", "content": report}));
    messages.push(json!({"role": "user", "content": "Feedback on your report: state the price of each option."}));
    let request = json!({"model": "m", "messages": messages, "tools": tools()});
    let (_, completion) = chat(&sim, &request).await;
    let revised = message(&completion)["content"].as_str().unwrap();
    // The rewrite spells out its evidence and never quotes the critique.
    assert!(revised.contains("Every row is the catalog listing"), "{revised}");
    assert!(!revised.contains("Revisions") && !revised.contains("state the price of each option"), "{revised}");
    assert_eq!(sim.requests(), 6);
}

#[tokio::test]
async fn tool_steps_and_tool_choice_control_when_the_report_comes() {
    let sim = sim(SimConfig { tool_steps: 6, ..SimConfig::default() }).await;
    let trace = agent::run(&sim, Form::Native, opening(), &tools()).await;
    let names: Vec<&str> = trace.calls.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 6);
    assert_eq!(&names[4..], ["product_search", "product_search"]);
    assert_eq!(trace.calls[4].2["query"], "noise cancelling headphones budget");

    let request = json!({"model": "m", "messages": opening(), "tools": tools(), "tool_choice": "none"});
    let (_, completion) = chat(&sim, &request).await;
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    let report = message(&completion)["content"].as_str().unwrap();
    assert!(report.contains("no catalog products"), "{report}");

    let forced = json!({"model": "m", "messages": opening(), "tools": tools(),
        "tool_choice": {"type": "function", "function": {"name": "web_search"}}});
    let (_, completion) = chat(&sim, &forced).await;
    assert_eq!(message(&completion)["tool_calls"][0]["function"]["name"], "web_search");
}

#[tokio::test]
async fn queries_vary_the_script_and_the_report_layout() {
    let sim = sim(SimConfig::default()).await;
    let mut sequences = std::collections::BTreeSet::new();
    let mut counts = std::collections::BTreeSet::new();
    let mut layouts = std::collections::BTreeSet::new();
    for thing in ["kettle", "blender", "backpack", "desk lamp", "running shoes", "keyboard", "air fryer", "monitor", "camera", "drill"] {
        let query = format!("Which {thing} should I buy?");
        let opening = vec![json!({"role": "user", "content": format!("Research query: {query}\nUse the tools.")})];
        let trace = agent::run(&sim, Form::Native, opening.clone(), &tools()).await;
        let names: Vec<String> = trace.calls.iter().map(|(_, n, _)| n.clone()).collect();
        counts.insert(names.len());
        sequences.insert(names.join(">"));
        layouts.insert(trace.report.lines().filter(|l| l.starts_with("## ")).collect::<Vec<_>>().join(">"));
        // The same query takes the same path on every run.
        assert_eq!(agent::run(&sim, Form::Native, opening, &tools()).await.calls.len(), names.len());
    }
    assert!(sequences.len() >= 2 && counts.len() >= 2 && layouts.len() >= 2, "{sequences:?} {counts:?} {layouts:?}");
}

#[tokio::test]
async fn missing_ids_and_tools_change_the_script() {
    let sim = sim(SimConfig::default()).await;
    // A search that found nothing: the visit step becomes a web search.
    let mut messages = opening();
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function",
        "function": {"name": "product_search", "arguments": "{\"query\":\"x\"}"}}]}));
    messages.push(json!({"role": "tool", "tool_call_id": "call_0", "content": "{\"results\":[],\"total\":0}"}));
    let (_, completion) = chat(&sim, &json!({"model": "m", "messages": messages, "tools": tools()})).await;
    let call = &message(&completion)["tool_calls"][0];
    assert_eq!(call["id"], "call_1");
    assert_eq!(call["function"]["name"], "web_search");

    // Only web tools offered: the first step needs product_search, so the model reports.
    let web_only = json!([tools()[2], tools()[3]]);
    let (_, completion) = chat(&sim, &json!({"model": "m", "messages": opening(), "tools": web_only})).await;
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert!(message(&completion)["content"].as_str().unwrap().contains("## Recommendations"));
}

#[tokio::test]
async fn arguments_fit_the_offered_schema() {
    let sim = sim(SimConfig::default()).await;
    let strict = json!([{"type": "function", "function": {"name": "product_search", "parameters": {
        "type": "object", "additionalProperties": false, "required": ["query", "max_results"],
        "properties": {"query": {"type": "string"}, "max_results": {"type": "integer", "maximum": 3}}}}}]);
    // `max_results` is required and the simulator does not know it: no call it could make.
    let (_, completion) = chat(&sim, &json!({"model": "m", "messages": opening(), "tools": strict})).await;
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");

    let closed = json!([{"type": "function", "function": {"name": "product_search", "parameters": {
        "type": "object", "additionalProperties": false, "required": ["query"],
        "properties": {"query": {"type": "string"}}}}}]);
    let (_, completion) = chat(&sim, &json!({"model": "m", "messages": opening(), "tools": closed})).await;
    let args = message(&completion)["tool_calls"][0]["function"]["arguments"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(args).unwrap(), json!({"query": "noise cancelling headphones"}));
}
