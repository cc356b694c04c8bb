//! The distiller counts `o200k_base` / `cl100k_base` with `bpe-openai` because
//! it is several times faster than tiktoken-rs; these tests pin that the counts
//! are still tiktoken's (`encode_ordinary`, special-token markup as plain text)
//! on real text: DeepResearch Bench's 100 reports (50 Chinese, 50 English),
//! their paragraphs, the queries, the RACE criteria, and the ChatML training
//! text an example is counted on.

use distiller::TokenCounter;
use serde_json::{Value, json};
use tiktoken_rs::CoreBPE;

const BENCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/deepresearch_bench");

fn jsonl(file: &str) -> Vec<Value> {
    let path = format!("{BENCH}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (the repo expects shared/data beside it)"));
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

fn reports() -> Vec<String> {
    let rows = jsonl("reference_model_outputs/claude-3-7-sonnet-latest.cleaned.jsonl");
    let reports: Vec<String> = rows.iter().map(|r| r["article"].as_str().expect("article is text").to_string()).collect();
    assert_eq!(reports.len(), 100);
    reports
}

/// Real text in the shapes counting meets: whole reports, the same with
/// trailing whitespace (tiktoken's `\s+(?!\S)` at the end of input), every
/// paragraph on its own, the queries and the criteria rows' JSON.
fn real_texts() -> Vec<String> {
    let mut texts = Vec::new();
    for report in reports() {
        texts.extend(report.split("\n\n").map(str::to_string));
        texts.push(format!("{report}  \n \t"));
        texts.push(report);
    }
    texts.extend(jsonl("query.jsonl").iter().map(|q| q["prompt"].as_str().expect("prompt is text").to_string()));
    texts.extend(jsonl("criteria.jsonl").iter().map(Value::to_string));
    texts
}

/// Asserts identical counts text by text; returns the tokens counted.
fn assert_same_counts(ours: &TokenCounter, reference: &CoreBPE, texts: &[String]) -> usize {
    let mut total = 0;
    for (i, text) in texts.iter().enumerate() {
        let expected = reference.encode_ordinary(text).len();
        let head: String = text.chars().take(80).collect();
        assert_eq!(ours.count(text), expected, "{}: text {i} ({} bytes) {head:?}", ours.name(), text.len());
        total += expected;
    }
    total
}

#[test]
fn o200k_counts_equal_tiktoken_on_deepresearch_bench_text() {
    let texts = real_texts();
    let tokens = assert_same_counts(&TokenCounter::o200k(), tiktoken_rs::o200k_base_singleton(), &texts);
    // 1.4 MB of reports counted three ways, plus queries and criteria.
    assert!(tokens > 1_000_000, "{tokens}");
}

#[test]
fn cl100k_counts_equal_tiktoken_on_deepresearch_bench_text() {
    let texts = real_texts();
    let tokens = assert_same_counts(&TokenCounter::from_spec("cl100k_base").unwrap(), tiktoken_rs::cl100k_base_singleton(), &texts);
    assert!(tokens > 1_000_000, "{tokens}");
}

/// The text an example is actually counted on: ChatML markup, a tool schema,
/// a tool call's JSON, a `<think>` block and reports as tool results.
#[test]
fn chatml_training_text_counts_equal_tiktoken() {
    let reports = reports();
    let queries = jsonl("query.jsonl");
    let mut messages = vec![json!({"role": "system", "content": "You are a product research agent."})];
    for (i, (query, report)) in queries.iter().zip(&reports).take(6).enumerate() {
        let args = json!({"url": format!("https://source{i}.example/report")}).to_string();
        messages.push(json!({"role": "user", "content": query["prompt"]}));
        messages.push(json!({
            "role": "assistant",
            "reasoning_content": "I should read the source before I compare prices.",
            "content": "",
            "tool_calls": [{"id": format!("c{i}"), "type": "function", "function": {"name": "web_visit", "arguments": args}}],
        }));
        messages.push(json!({"role": "tool", "tool_call_id": format!("c{i}"), "content": report}));
        messages.push(json!({"role": "assistant", "content": format!("Findings, with sources: https://source{i}.example/report.")}));
    }
    let tool = json!({"type": "function", "function": {"name": "web_visit", "description": "Fetch a page.", "parameters": {
        "type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}}});
    let text = distiller::format::hermes_text(&json!({"messages": messages, "tools": [tool]}));
    assert!(text.contains("<|im_start|>assistant\n<think>") && text.contains("<tool_call>\n{"), "{}", &text[..400]);
    let odd = [
        "",
        " ",
        "\n",
        "  \n\n \t ",
        "x  ",
        "DON'T WE'LL they'RE",
        "1234567 3.14159 1e-9",
        "🛒🛒 naïve café ÅÅ",
        "<|im_start|><|endoftext|>",
    ];
    let texts: Vec<String> = std::iter::once(text).chain(odd.iter().map(|s| s.to_string())).collect();
    assert!(assert_same_counts(&TokenCounter::o200k(), tiktoken_rs::o200k_base_singleton(), &texts) > 5_000);
    assert_same_counts(&TokenCounter::from_spec("cl100k").unwrap(), tiktoken_rs::cl100k_base_singleton(), &texts);
}
