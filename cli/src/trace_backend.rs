//! Reads a run's spans back from an OTLP backend instead of a file, so
//! `productresearch trace report` works where the traces were exported live.
//! Supported: Arize Phoenix's REST API (`GET /v1/projects/<project>/spans`,
//! paged by cursor), the backend the CI checks the telemetry against.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::trace_span::SpanRow;

/// One page of Phoenix's span list.
#[derive(Deserialize)]
struct Page {
    data: Vec<PhoenixSpan>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct PhoenixSpan {
    name: String,
    context: PhoenixContext,
    #[serde(default)]
    parent_id: Option<String>,
    start_time: String,
    end_time: String,
    #[serde(default)]
    attributes: Value,
}

#[derive(Deserialize)]
struct PhoenixContext {
    trace_id: String,
    span_id: String,
}

/// Every span of `project` on the Phoenix server at `base` (e.g.
/// `http://127.0.0.1:6006`).
pub async fn read_phoenix(base: &str, project: &str) -> anyhow::Result<Vec<SpanRow>> {
    let client = productresearch_runtime::http::client_builder().build()?;
    let url = format!("{}/v1/projects/{project}/spans", base.trim_end_matches('/'));
    let mut spans = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1000".to_string())];
        if let Some(c) = cursor.take() {
            query.push(("cursor", c));
        }
        let page_url = reqwest::Url::parse_with_params(&url, &query).map_err(|e| anyhow::anyhow!("bad trace backend URL {url}: {e}"))?;
        let response = client.get(page_url).send().await.map_err(|e| anyhow::anyhow!("cannot reach the trace backend at {url}: {e}"))?;
        if !response.status().is_success() {
            anyhow::bail!("the trace backend answered {} for {url} (is the project name right? --project)", response.status());
        }
        let page: Page = response.json().await.map_err(|e| anyhow::anyhow!("{url} did not return Phoenix's span list: {e}"))?;
        for s in page.data {
            spans.push(row(s)?);
        }
        match page.next_cursor {
            Some(c) if !c.is_empty() => cursor = Some(c),
            _ => return Ok(spans),
        }
    }
}

fn row(s: PhoenixSpan) -> anyhow::Result<SpanRow> {
    let (mut strings, mut numbers) = (HashMap::new(), HashMap::new());
    flatten("", &s.attributes, &mut strings, &mut numbers);
    let seconds = (time(&s.end_time)? - time(&s.start_time)?).num_microseconds().unwrap_or(0) as f64 / 1e6;
    Ok(SpanRow {
        trace_id: s.context.trace_id,
        span_id: s.context.span_id,
        parent: s.parent_id.unwrap_or_default(),
        name: s.name,
        seconds: seconds.max(0.0),
        strings,
        numbers,
    })
}

fn time(t: &str) -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(t).map_err(|e| anyhow::anyhow!("span time {t:?} is not RFC 3339: {e}"))
}

/// Phoenix nests dotted attribute keys (`gen_ai.usage.input_tokens` comes back
/// as `{"gen_ai": {"usage": {...}}}`); this flattens them back to the keys the
/// exporter wrote.
fn flatten(prefix: &str, v: &Value, strings: &mut HashMap<String, String>, numbers: &mut HashMap<String, f64>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, child, strings, numbers);
            }
        }
        Value::String(s) => {
            strings.insert(prefix.to_string(), s.clone());
        }
        Value::Number(n) => {
            numbers.insert(prefix.to_string(), n.as_f64().unwrap_or_default());
        }
        Value::Bool(b) => {
            strings.insert(prefix.to_string(), b.to_string());
        }
        Value::Array(_) => {
            strings.insert(prefix.to_string(), v.to_string());
        }
        Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attributes_and_times_become_a_span_row() {
        let s: PhoenixSpan = serde_json::from_value(serde_json::json!({
            "name": "chat sim-model",
            "context": {"trace_id": "t1", "span_id": "s2"},
            "parent_id": "s1",
            "start_time": "2026-11-26T03:00:00.000000+00:00",
            "end_time": "2026-11-26T03:00:01.500000+00:00",
            "attributes": {"gen_ai": {"usage": {"input_tokens": 12}, "request": {"model": "sim-model"}}, "productresearch": {"round": 2}}
        }))
        .unwrap();
        let r = row(s).unwrap();
        assert_eq!((r.trace_id.as_str(), r.span_id.as_str(), r.parent.as_str()), ("t1", "s2", "s1"));
        assert!((r.seconds - 1.5).abs() < 1e-9);
        assert_eq!(r.numbers["gen_ai.usage.input_tokens"], 12.0);
        assert_eq!(r.numbers["productresearch.round"], 2.0);
        assert_eq!(r.strings["gen_ai.request.model"], "sim-model");
    }
}
