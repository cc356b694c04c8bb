//! `productresearch trace report`: the traces of a run (an OTLP JSON-lines
//! file, as `productresearch run` writes to `out/traces.jsonl`) turned into a
//! per-round table and an SVG plot.
//!
//! Each span is assigned the round of its nearest ancestor (or itself) carrying
//! `productresearch.round`: the `round N` spans of the supervisor and of the
//! research agent. Lines that are not trace exports (metrics) are skipped; a
//! line that is not JSON is an error naming the line.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use serde::Deserialize;

use productresearch_runtime::telemetry::attributes;

use crate::trace_span::SpanRow;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not an OTLP JSON export.
    #[error("{path}:{line}: not an OTLP JSON line: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Export {
    #[serde(default)]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans {
    #[serde(default)]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeSpans {
    #[serde(default)]
    spans: Vec<WireSpan>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSpan {
    trace_id: String,
    span_id: String,
    #[serde(default)]
    parent_span_id: String,
    name: String,
    #[serde(default)]
    start_time_unix_nano: Nanos,
    #[serde(default)]
    end_time_unix_nano: Nanos,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

/// OTLP JSON writes 64-bit integers as strings; some writers use numbers.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(from = "NumOrString")]
struct Nanos(u64);

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    Num(u64),
    Str(String),
}

impl From<NumOrString> for Nanos {
    fn from(v: NumOrString) -> Self {
        Nanos(match v {
            NumOrString::Num(n) => n,
            NumOrString::Str(s) => s.parse().unwrap_or(0),
        })
    }
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: AnyValue,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AnyValue {
    string_value: Option<String>,
    int_value: Option<NumOrString>,
    double_value: Option<f64>,
    bool_value: Option<bool>,
}

fn row(s: WireSpan) -> SpanRow {
    let mut strings = HashMap::new();
    let mut numbers = HashMap::new();
    for kv in s.attributes {
        let v = kv.value;
        if let Some(x) = v.string_value {
            strings.insert(kv.key, x);
        } else if let Some(n) = v.int_value {
            numbers.insert(kv.key, Nanos::from(n).0 as f64);
        } else if let Some(d) = v.double_value {
            numbers.insert(kv.key, d);
        } else if let Some(b) = v.bool_value {
            strings.insert(kv.key, b.to_string());
        }
    }
    SpanRow {
        trace_id: s.trace_id,
        span_id: s.span_id,
        parent: s.parent_span_id,
        name: s.name,
        seconds: s.end_time_unix_nano.0.saturating_sub(s.start_time_unix_nano.0) as f64 / 1e9,
        strings,
        numbers,
    }
}

/// Reads every span of an OTLP JSON-lines file.
pub fn read_spans(path: &Path) -> Result<Vec<SpanRow>, ReportError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ReportError::Read { path: shown.clone(), source })?;
    let mut spans = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| ReportError::Read { path: shown.clone(), source })?;
        if line.trim().is_empty() {
            continue;
        }
        let export: Export =
            serde_json::from_str(&line).map_err(|e| ReportError::Parse { path: shown.clone(), line: i + 1, message: e.to_string() })?;
        for r in export.resource_spans {
            for s in r.scope_spans {
                spans.extend(s.spans.into_iter().map(row));
            }
        }
    }
    Ok(spans)
}

/// Figures of one round over all trajectories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundRow {
    /// Trajectories that reached the round.
    pub trajectories: usize,
    /// Input tokens of every model call in the round.
    pub input_tokens: u64,
    /// Output tokens of every model call in the round.
    pub output_tokens: u64,
    /// Model calls.
    pub chat_calls: usize,
    /// Summed model-call latency, seconds.
    pub chat_seconds: f64,
    /// Durations of the round spans, seconds (sorted).
    pub round_seconds: Vec<f64>,
    /// Tool executions by tool.
    pub tool_calls: BTreeMap<String, usize>,
    /// Verdicts `revise` by supervisor state.
    pub rejections: BTreeMap<String, usize>,
    /// Verdicts given.
    pub verdicts: usize,
    /// Scores where the verdict carried one.
    pub scores: Vec<f64>,
}

/// The per-round analysis of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Rounds by number (0: before the research, e.g. the intent).
    pub rounds: BTreeMap<u32, RoundRow>,
    /// Traces in the file.
    pub traces: usize,
    /// Spans in the file.
    pub spans: usize,
    /// Trajectories by termination reason.
    pub terminations: BTreeMap<String, usize>,
}

/// Builds the report from spans.
pub fn analyse(spans: &[SpanRow]) -> Report {
    let by_id: HashMap<(&str, &str), usize> =
        spans.iter().enumerate().map(|(i, s)| ((s.trace_id.as_str(), s.span_id.as_str()), i)).collect();
    // Round of each span, memoised along the parent chain.
    let mut round_of: Vec<Option<Option<u32>>> = vec![None; spans.len()];
    fn resolve(i: usize, spans: &[SpanRow], by_id: &HashMap<(&str, &str), usize>, memo: &mut [Option<Option<u32>>]) -> Option<u32> {
        let mut chain = Vec::new();
        let mut cur = Some(i);
        let mut found = None;
        while let Some(c) = cur {
            if let Some(known) = memo[c] {
                found = known;
                break;
            }
            chain.push(c);
            if let Some(r) = spans[c].numbers.get(attributes::ROUND) {
                found = Some(*r as u32);
                break;
            }
            let s = &spans[c];
            cur = if s.parent.is_empty() { None } else { by_id.get(&(s.trace_id.as_str(), s.parent.as_str())).copied() };
            if chain.len() > 10_000 {
                break; // a cycle in a corrupt file
            }
        }
        for c in chain {
            memo[c] = Some(found);
        }
        found
    }
    let mut report = Report { spans: spans.len(), ..Report::default() };
    let mut traces = std::collections::HashSet::new();
    let mut reached: BTreeMap<u32, std::collections::HashSet<&str>> = BTreeMap::new();
    for (i, s) in spans.iter().enumerate() {
        traces.insert(s.trace_id.as_str());
        if s.name == "trajectory"
            && let Some(reason) = s.strings.get(attributes::TERMINATION_REASON)
        {
            *report.terminations.entry(reason.clone()).or_default() += 1;
        }
        let round = resolve(i, spans, &by_id, &mut round_of).unwrap_or(0);
        let op = s.strings.get("gen_ai.operation.name").map(String::as_str);
        let row = report.rounds.entry(round).or_default();
        if s.name.starts_with("round ") {
            reached.entry(round).or_default().insert(s.trace_id.as_str());
            // Both the supervisor and the agent have a round span; count the supervisor's.
            if s.strings.get("gen_ai.agent.name").map(String::as_str) == Some("supervisor") {
                row.round_seconds.push(s.seconds);
            }
        } else if op == Some("chat") {
            row.chat_calls += 1;
            row.chat_seconds += s.seconds;
            row.input_tokens += s.numbers.get("gen_ai.usage.input_tokens").copied().unwrap_or(0.0) as u64;
            row.output_tokens += s.numbers.get("gen_ai.usage.output_tokens").copied().unwrap_or(0.0) as u64;
        } else if op == Some("execute_tool") && s.strings.contains_key("gen_ai.agent.name") {
            let tool = s.strings.get("gen_ai.tool.name").cloned().unwrap_or_default();
            *row.tool_calls.entry(tool).or_default() += 1;
        } else if s.name.starts_with("verdict ")
            && let Some(decision) = s.strings.get(attributes::VERDICT)
        {
            row.verdicts += 1;
            if decision != "approve" {
                let state = s.strings.get(attributes::SUPERVISOR_STATE).cloned().unwrap_or_default();
                *row.rejections.entry(state).or_default() += 1;
            }
            if let Some(score) = s.numbers.get(attributes::VERDICT_SCORE) {
                row.scores.push(*score);
            }
        }
    }
    for (round, set) in reached {
        report.rounds.entry(round).or_default().trajectories = set.len();
    }
    for row in report.rounds.values_mut() {
        row.round_seconds.sort_by(f64::total_cmp);
    }
    report.traces = traces.len();
    report
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn join(map: &BTreeMap<String, usize>) -> String {
    if map.is_empty() {
        return "-".into();
    }
    map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// The table as text (Markdown, so it pastes into docs).
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} traces, {} spans; terminations: {}", report.traces, report.spans, join(&report.terminations));
    let _ = writeln!(
        out,
        "| round | trajectories | input tokens | output tokens | model calls | model s | round p50 s | round p95 s | tool calls | rejections | score |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (round, r) in &report.rounds {
        let score =
            if r.scores.is_empty() { "-".to_string() } else { format!("{:.2}", r.scores.iter().sum::<f64>() / r.scores.len() as f64) };
        let _ = writeln!(
            out,
            "| {round} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {score} |",
            r.trajectories,
            r.input_tokens,
            r.output_tokens,
            r.chat_calls,
            r.chat_seconds,
            percentile(&r.round_seconds, 0.5),
            percentile(&r.round_seconds, 0.95),
            join(&r.tool_calls),
            join(&r.rejections),
        );
    }
    out
}

/// A bar plot of tokens per round (input and output) with rejections as a
/// line, as a standalone SVG.
pub fn svg(report: &Report) -> String {
    let (w, h, pad) = (720.0_f64, 360.0_f64, 50.0_f64);
    let rounds: Vec<(&u32, &RoundRow)> = report.rounds.iter().collect();
    let max_tokens = rounds.iter().map(|(_, r)| r.input_tokens + r.output_tokens).max().unwrap_or(0).max(1) as f64;
    let max_rej = rounds.iter().map(|(_, r)| r.rejections.values().sum::<usize>()).max().unwrap_or(0).max(1) as f64;
    let slot = (w - 2.0 * pad) / rounds.len().max(1) as f64;
    let mut s = String::new();
    let _ = writeln!(s, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#);
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{pad}" y="20" font-size="14">Tokens per round (bars: input, output) and rejections (line)</text>"#);
    let base = h - pad;
    let _ = writeln!(s, r#"<line x1="{pad}" y1="{base}" x2="{}" y2="{base}" stroke="black"/>"#, w - pad);
    let mut points = Vec::new();
    for (i, (round, r)) in rounds.iter().enumerate() {
        let x = pad + i as f64 * slot;
        let bw = slot * 0.35;
        let hi = (r.input_tokens as f64 / max_tokens) * (h - 2.0 * pad);
        let ho = (r.output_tokens as f64 / max_tokens) * (h - 2.0 * pad);
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{bw:.1}" height="{hi:.1}" fill="#4e79a7"><title>round {round}: {} input tokens</title></rect>"##,
            x + slot * 0.1,
            base - hi,
            r.input_tokens
        );
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{bw:.1}" height="{ho:.1}" fill="#f28e2b"><title>round {round}: {} output tokens</title></rect>"##,
            x + slot * 0.1 + bw,
            base - ho,
            r.output_tokens
        );
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{round}</text>"#, x + slot / 2.0, base + 15.0);
        let rej = r.rejections.values().sum::<usize>() as f64;
        points.push(format!("{:.1},{:.1}", x + slot / 2.0, base - rej / max_rej * (h - 2.0 * pad)));
    }
    let _ = writeln!(s, r##"<polyline points="{}" fill="none" stroke="#e15759" stroke-width="2"/>"##, points.join(" "));
    let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">round</text>"#, w / 2.0, h - 12.0);
    let _ = writeln!(s, r#"<text x="5" y="{:.1}">max {max_tokens} tokens, {max_rej} rejections</text>"#, pad - 10.0);
    s.push_str("</svg>\n");
    s
}

/// `productresearch trace report FILE [--svg OUT]`: prints the table (and the
/// time it took) and writes the plot.
pub fn run(file: &Path, svg_out: Option<&Path>) -> anyhow::Result<()> {
    let started = Instant::now();
    let spans = read_spans(file)?;
    let svg_path = svg_out.map(Path::to_path_buf).unwrap_or_else(|| file.with_extension("svg"));
    print_report(&spans, &svg_path, started)
}

/// The table on stdout, the plot to `svg_path`.
fn print_report(spans: &[SpanRow], svg_path: &Path, started: Instant) -> anyhow::Result<()> {
    let report = analyse(spans);
    print!("{}", table(&report));
    std::fs::write(svg_path, svg(&report)).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", svg_path.display()))?;
    eprintln!("plot -> {}; {} spans analysed in {:.2}s", svg_path.display(), spans.len(), started.elapsed().as_secs_f64());
    Ok(())
}

/// `productresearch trace ...`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    #[command(subcommand)]
    command: TraceCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TraceCommand {
    /// Per-round table (tokens, latency, tool calls, rejections, scores) and an
    /// SVG plot of the traces of a run.
    Report {
        /// OTLP JSON-lines file (as `productresearch run` writes to
        /// out/traces.jsonl), or the http(s) URL of a Phoenix server the run
        /// exported to.
        file: std::path::PathBuf,
        /// Project to read when FILE is a backend URL.
        #[arg(long, default_value = "default")]
        project: String,
        /// Where to write the plot (default: FILE with the extension .svg).
        #[arg(long)]
        svg: Option<std::path::PathBuf>,
    },
}

/// Runs a `trace` subcommand.
pub async fn command(args: TraceArgs) -> anyhow::Result<()> {
    match args.command {
        TraceCommand::Report { file, svg, project } => {
            let source = file.to_string_lossy();
            if source.starts_with("http://") || source.starts_with("https://") {
                let started = Instant::now();
                let spans = crate::trace_backend::read_phoenix(&source, &project).await?;
                let svg_path = svg.unwrap_or_else(|| std::path::PathBuf::from("traces.svg"));
                print_report(&spans, &svg_path, started)
            } else {
                run(&file, svg.as_deref())
            }
        }
    }
}

/// A synthetic run for tests and the benchmark: `trajectories` traces of
/// `rounds` rounds each, every round one plan, `tools` tool calls, a report
/// and their verdicts (the last report approved, the others revised), in the
/// OTLP JSON-lines shape the exporter writes (one export line per trajectory).
pub fn synthetic_run(trajectories: usize, rounds: u32, tools: u32) -> String {
    use serde_json::json;
    let mut out = String::new();
    let s = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let n = |k: &str, v: i64| json!({"key": k, "value": {"intValue": v.to_string()}});
    for t in 0..trajectories {
        let trace = format!("{:032x}", t + 1);
        let mut spans = Vec::new();
        let mut id = 0u64;
        let mut span = |parent: &str, name: String, ms: u64, attrs: Vec<serde_json::Value>| {
            id += 1;
            let span_id = format!("{id:016x}");
            spans.push(json!({"traceId": trace, "spanId": span_id, "parentSpanId": parent, "name": name,
                "startTimeUnixNano": "1000000000", "endTimeUnixNano": (1_000_000_000 + ms * 1_000_000).to_string(), "attributes": attrs}));
            span_id
        };
        let root = span("", "trajectory".into(), 10_000, vec![s("productresearch.termination.reason", "approved")]);
        for r in 1..=rounds {
            span(&root, format!("round {r}"), 1_000, vec![s("gen_ai.agent.name", "supervisor"), n("productresearch.round", r as i64)]);
            let agent = span(
                &root,
                format!("round {r}"),
                1_000,
                vec![s("gen_ai.agent.name", "research-agent"), n("productresearch.round", r as i64)],
            );
            let chat = |name: &str| {
                vec![
                    s("gen_ai.operation.name", "chat"),
                    s("gen_ai.request.model", name),
                    n("gen_ai.usage.input_tokens", 100),
                    n("gen_ai.usage.output_tokens", 10),
                ]
            };
            let plan = span(&agent, "step plan".into(), 50, vec![]);
            span(&plan, "chat m".into(), 40, chat("m"));
            // Verdicts are children of the step they judge (docs/telemetry.md).
            let v = span(
                &plan,
                "verdict check_plan".into(),
                20,
                vec![s("productresearch.supervisor.state", "check_plan"), s("productresearch.verdict", "approve")],
            );
            span(&v, "chat m".into(), 15, chat("m"));
            for k in 0..tools {
                let tool = if k % 2 == 0 { "product_search" } else { "web_visit" };
                let step = span(&agent, "step tool_result".into(), 30, vec![]);
                span(
                    &step,
                    format!("execute_tool {tool}"),
                    25,
                    vec![s("gen_ai.operation.name", "execute_tool"), s("gen_ai.agent.name", "research-agent"), s("gen_ai.tool.name", tool)],
                );
            }
            let decision = if r == rounds { "approve" } else { "revise" };
            let report = span(&agent, "step report".into(), 50, vec![]);
            span(&report, "chat m".into(), 40, chat("m"));
            span(
                &report,
                "verdict check_report".into(),
                20,
                vec![s("productresearch.supervisor.state", "check_report"), s("productresearch.verdict", decision)],
            );
        }
        let line =
            json!({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]});
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}
