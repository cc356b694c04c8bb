//! The OTLP JSON-lines exporter: spans ended right before shutdown are in the
//! file, GenAI attributes are set, payloads are sizes and hashes (content only
//! when captured, cut to the cap), and metrics land in the same file.

use productresearch_runtime::telemetry::{self, TelemetryConfig, genai, metrics};
use serde_json::Value;

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"].as_array()?.iter().find(|a| a["key"] == key).map(|a| &a["value"])
}

#[test]
fn spans_ended_right_before_shutdown_are_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/traces.jsonl");
    let config = TelemetryConfig { traces_file: Some(file.clone()), capture_content: true, content_max_bytes: 64, ..Default::default() };
    let guard = telemetry::try_init("export-test", &config).unwrap();
    let big = "x".repeat(10_000);
    for i in 0..300u32 {
        let root = genai::trajectory_span(&format!("t-{i}"), "u");
        let _e = root.enter();
        let chat = genai::chat_span("supervisor", "sim-model");
        genai::record_payload(&chat, genai::Payload::Request, &big, Some("gen_ai.input.messages"));
        genai::record_chat_response(&chat, "sim-model-1", 12, 34, Some("stop"));
        drop(chat);
        metrics::tokens("supervisor", 1, 12, 34);
    }
    // No sleep, no explicit flush: dropping the guard must export everything.
    drop(guard);

    let text = std::fs::read_to_string(&file).unwrap();
    let mut spans = Vec::new();
    let mut metric_lines = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v.get("resourceMetrics").is_some() {
            metric_lines += 1;
            continue;
        }
        for rs in v["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                spans.extend(ss["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    assert_eq!(spans.len(), 600, "every span of every trajectory exported");
    assert!(metric_lines >= 1, "metrics collected at shutdown");
    assert!(text.contains("productresearch.tokens"));
    let chat = spans.iter().find(|s| s["name"] == "chat sim-model").expect("chat span named after the model");
    assert_eq!(attr(chat, "gen_ai.operation.name").unwrap()["stringValue"], "chat");
    assert_eq!(attr(chat, "gen_ai.agent.name").unwrap()["stringValue"], "supervisor");
    assert_eq!(attr(chat, "gen_ai.response.model").unwrap()["stringValue"], "sim-model-1");
    assert_eq!(attr(chat, "gen_ai.usage.output_tokens").unwrap()["intValue"], "34");
    assert_eq!(attr(chat, "productresearch.request.bytes").unwrap()["intValue"], "10000");
    assert_eq!(attr(chat, "productresearch.request.sha256").unwrap()["stringValue"], genai::sha256(big.as_bytes()));
    let captured = attr(chat, "gen_ai.input.messages").unwrap()["stringValue"].as_str().unwrap();
    assert!(captured.len() <= 64, "captured content is cut to the cap");
    // The chat span is a child of its trajectory, in the trajectory's trace.
    let root = spans.iter().find(|s| s["spanId"] == chat["parentSpanId"]).expect("parent exported");
    assert_eq!(root["name"], "trajectory");
    assert_eq!(root["traceId"], chat["traceId"]);
    for s in &spans {
        for a in s["attributes"].as_array().unwrap() {
            assert!(a["value"].to_string().len() <= 64 + 20, "attribute {} too large", a["key"]);
        }
    }
}
