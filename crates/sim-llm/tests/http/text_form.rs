//! The text form of tool use: no `tools` in the request, a catalog in the system prompt,
//! and calls and results as plain messages.

use productresearch_sim_llm::{SimConfig, TextToolStyle};
use serde_json::{Value, json};

use crate::agent::{self, Form, Step, action_format, in_text_form, opening, read_reply, request, text_call, tools};
use crate::{chat, content_json, message, sim, with_schema};

const SCRIPT: [&str; 4] = ["product_search", "visit_product", "web_search", "web_visit"];
const STYLES: [TextToolStyle; 3] = [TextToolStyle::Fenced, TextToolStyle::Tagged, TextToolStyle::Bare];
const RETRY: &str = "Your last answer could not be used: \"arguments\" is missing required property \"query\". \
                     Answer again with one JSON object.";

fn names(trace: &agent::Trace) -> Vec<&str> {
    trace.calls.iter().map(|(_, name, _)| name.as_str()).collect()
}

/// The text-form conversation after the first call ran.
fn after_first_call(messages: &[Value], arguments: Value) -> Vec<Value> {
    let mut messages = messages.to_vec();
    messages.push(json!({"role": "assistant", "content": json!({"tool": "product_search", "arguments": arguments}).to_string()}));
    let output = agent::run_tool("product_search", &json!({}));
    messages.push(json!({"role": "user", "content": format!("Tool result for product_search (call_0):\n{output}")}));
    messages
}

#[tokio::test]
async fn json_schema_mode_runs_the_script_to_a_cited_report() {
    let sim = sim(SimConfig::default()).await;
    let trace = agent::run(&sim, Form::JsonSchema, opening(), &tools()).await;
    assert_eq!(names(&trace), SCRIPT);
    assert_eq!(trace.calls[0].2, json!({"query": "noise cancelling headphones", "limit": 5}));
    assert_eq!(trace.calls[1].2, json!({"product_id": "P-100"}), "first id of the latest tool result");
    assert_eq!(trace.calls[3].2, json!({"url": "https://reviews.example/sony-xm5"}), "first url of the web search");
    let report = &trace.report;
    assert!(report.contains("[P-100]") && report.contains("- https://reviews.example/sony-xm5"), "{report}");

    // Same script, same evidence: the report is the native run's, word for word.
    let native = agent::run(&sim, Form::Native, opening(), &tools()).await;
    assert_eq!(trace.report, native.report);

    // Calls are compact JSON with `tool` first, exactly as the action schema spells them.
    let (_, first) = chat(&sim, &request(Form::JsonSchema, &in_text_form(opening(), &tools()), &tools())).await;
    assert_eq!(message(&first)["content"], r#"{"tool":"product_search","arguments":{"limit":5,"query":"noise cancelling headphones"}}"#);

    // Sent back once: the rewrite answers the critique, still as a report action.
    let mut messages = trace.messages;
    messages.push(json!({"role": "assistant", "content": json!({"report": report}).to_string()}));
    messages.push(json!({"role": "user", "content": "Feedback on your report: state the price of each option."}));
    let (_, completion) = chat(&sim, &request(Form::JsonSchema, &messages, &tools())).await;
    let Step::Report(revised) = read_reply(Form::JsonSchema, &completion) else { panic!("expected the revised report") };
    assert!(revised.contains("Every row is the catalog listing") && !revised.contains("state the price of each option"), "{revised}");
}

#[tokio::test]
async fn the_schema_decides_what_may_be_called() {
    let sim = sim(SimConfig::default()).await;
    let messages = in_text_form(opening(), &tools());
    let ask = |format: Value, messages: &[Value]| json!({"model": "m", "messages": messages, "response_format": format});

    // Only the report entry: the model reports, even with the catalog listing four tools.
    let (_, completion) = chat(&sim, &ask(action_format(&json!([])), &messages)).await;
    let action = content_json(&completion);
    assert!(action["report"].as_str().unwrap().contains("no catalog products"), "{action}");

    // No catalog: the tool names and schemas come from the schema's `oneOf`.
    let (_, completion) = chat(&sim, &ask(action_format(&tools()), &opening())).await;
    assert_eq!(content_json(&completion)["tool"], "product_search");

    // The schema allows only the web tools; the first step needs product_search.
    let web_only = json!([tools()[2], tools()[3]]);
    let (_, completion) = chat(&sim, &ask(action_format(&web_only), &messages)).await;
    assert!(content_json(&completion)["report"].is_string());

    // tool_choice "none" still means the report, here as plain markdown.
    let none = json!({"model": "m", "messages": messages, "tool_choice": "none"});
    let (_, completion) = chat(&sim, &none).await;
    let Step::Report(report) = read_reply(Form::Lenient(TextToolStyle::Fenced), &completion) else { panic!("expected a report") };
    assert!(report.starts_with("# Research report: "), "{report}");
}

#[tokio::test]
async fn lenient_styles_write_parseable_calls() {
    for style in STYLES {
        let sim = sim(SimConfig { text_tool_style: style, ..SimConfig::default() }).await;
        let form = Form::Lenient(style);
        let (_, completion) = chat(&sim, &request(form, &in_text_form(opening(), &tools()), &tools())).await;
        let content = message(&completion)["content"].as_str().unwrap();
        match style {
            TextToolStyle::Fenced => assert!(content.starts_with("I will search the catalog first.\n```json\n{\"tool\": "), "{content}"),
            TextToolStyle::Tagged => assert!(content.starts_with("<tool_call>\n{\"name\": \"product_search\", "), "{content}"),
            TextToolStyle::Bare => assert!(content.starts_with("{\"tool\": \"product_search\", \"arguments\": {"), "{content}"),
        }
        let (name, arguments) = text_call(form, content).unwrap_or_else(|| panic!("{style:?} call does not parse: {content}"));
        assert_eq!((name.as_str(), arguments), ("product_search", json!({"query": "noise cancelling headphones", "limit": 5})));

        let trace = agent::run(&sim, form, opening(), &tools()).await;
        assert_eq!(names(&trace), SCRIPT, "{style:?}");
        assert_eq!(trace.calls[1].2, json!({"product_id": "P-100"}));
        assert!(trace.report.contains("[P-100]") && trace.report.contains("https://reviews.example/sony-xm5"), "{style:?}");
    }
}

#[tokio::test]
async fn invalid_first_action_is_fixed_after_the_reask() {
    let sim = sim(SimConfig { invalid_first_action: true, ..SimConfig::default() }).await;
    let messages = in_text_form(opening(), &tools());
    let (_, completion) = chat(&sim, &request(Form::JsonSchema, &messages, &tools())).await;
    let bad = message(&completion)["content"].as_str().unwrap().to_owned();
    assert_eq!(bad, r#"{"tool":"product_search","arguments":{"limit":5}}"#, "required `query` left out");

    // The client re-asks, with or without the refused answer kept in the history.
    let good = json!({"query": "noise cancelling headphones", "limit": 5});
    let with_bad = [messages.clone(), vec![json!({"role": "assistant", "content": bad}), json!({"role": "user", "content": RETRY})]];
    let without_bad = [messages.clone(), vec![json!({"role": "user", "content": RETRY})]];
    for retried in [with_bad.concat(), without_bad.concat()] {
        let (_, completion) = chat(&sim, &request(Form::JsonSchema, &retried, &tools())).await;
        assert_eq!(content_json(&completion), json!({"tool": "product_search", "arguments": good}));

        // The refused call is no step of the script: the next one visits the first product.
        let (_, completion) = chat(&sim, &request(Form::JsonSchema, &after_first_call(&retried, good.clone()), &tools())).await;
        assert_eq!(content_json(&completion), json!({"tool": "visit_product", "arguments": {"product_id": "P-100"}}));
    }

    // A later step of a conversation that never re-asked is answered correctly too.
    let (_, completion) = chat(&sim, &request(Form::JsonSchema, &after_first_call(&messages, good.clone()), &tools())).await;
    assert_eq!(content_json(&completion)["arguments"], json!({"product_id": "P-100"}));

    // Lenient mode spoils the first call the same way, in its own style.
    let form = Form::Lenient(TextToolStyle::Fenced);
    let (_, completion) = chat(&sim, &request(form, &messages, &tools())).await;
    let (name, arguments) = text_call(form, message(&completion)["content"].as_str().unwrap()).unwrap();
    assert_eq!((name.as_str(), arguments), ("product_search", json!({"limit": 5})));
}

#[tokio::test]
async fn catalog_less_requests_behave_as_before() {
    let sim = sim(SimConfig::default()).await;
    // No tools and no catalog: plain chat, even when the prompt talks about tools.
    let mentions = json!({"model": "m", "messages": [
        {"role": "system", "content": "You are a research agent. Available tools: none."},
        {"role": "user", "content": "hello there"}]});
    let (_, completion) = chat(&sim, &mentions).await;
    assert!(message(&completion)["content"].as_str().unwrap().starts_with("This is a simulated model. You asked: hello there"));

    // A JSON schema without the action shape is still not the research agent.
    let (_, completion) = chat(&sim, &with_schema("answer", json!([{"role": "user", "content": "hi"}]))).await;
    assert!(content_json(&completion)["answer"].is_string());

    // The named roles win over a catalog in the prompt.
    let (_, completion) = chat(&sim, &with_schema("plan", json!(in_text_form(opening(), &tools())))).await;
    assert!(content_json(&completion)["steps"][0].as_str().unwrap().starts_with("Search the catalog"));

    // Native tools stay native.
    let (_, completion) = chat(&sim, &request(Form::Native, &opening(), &tools())).await;
    assert_eq!(message(&completion)["tool_calls"][0]["function"]["name"], "product_search");
}
