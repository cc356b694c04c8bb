//! Supervisor load bench (prints figures; see docs/benchmarks.md).
//!
//! `realistic`: the simulated model answers after a first-token latency of
//! 1 s ± 0.5 s, then completion tokens at 50 tokens/s (≈ 1–3 s per call);
//! N trajectories (default 1,000) run at once through one supervisor. Prints
//! the achieved wall time against the LLM-bound ideal (the slowest
//! trajectory's model time, as the simulated model reports it per
//! `x-trajectory-id`), CPU per research step, peak RSS of the five services,
//! and each trajectory's time in the mesh. The simulated model runs in a
//! child process so its CPU and memory are reported apart.
//!
//! `lockstep`: the same with exactly 1 s: N identical trajectories then reach
//! the mesh in the same millisecond at every step, the worst case.
//!
//! `processes`: `realistic` with each service in its own process (the
//! release binaries; see `supervisor_load/processes.rs`): peak RSS and CPU
//! per service.
//!
//! `zero`: the model answers at once; measures the mesh itself: CPU µs per
//! research step, and p50/p99 per hop, with tracing on.
//!
//! `cargo bench -p productresearch --bench supervisor_load -- realistic|lockstep|processes|zero`
//! (`BENCH_N` sets the number of trajectories; `BENCH_HOPS=0` skips `zero`'s
//! hop timings, e.g. under a profiler; `BENCH_TELEMETRY=off` runs `zero`
//! without a span exporter).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use productresearch::local_mesh::{LocalMesh, MeshSettings};
use productresearch::pipeline;
use productresearch_llm::{EndpointConfig, LlmClient};
use productresearch_proto::tool_gateway::v1::CallToolRequest;
use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_record::{EventBody, StepKind, UserHistory};
use productresearch_runtime::client::{ClientConfig, channel};
use productresearch_sim_llm::SimConfig;
use supervisor::{Caps, GrpcMesh, Mesh, MeshError, ResearchLink, StartSession, Supervisor};
use tokio::sync::mpsc;

#[path = "supervisor_load/processes.rs"]
mod processes;

fn demo(path: &str) -> PathBuf {
    productresearch::local_mesh::demo_data(path)
}

/// `n` copies of one demo history under distinct users: same work each.
fn histories(n: usize) -> Vec<UserHistory> {
    let base = productresearch::histories::read(&demo("histories.jsonl")).unwrap().0.remove(0);
    (0..n).map(|i| UserHistory { user_id: format!("bench-{i:05}"), ..base.clone() }).collect()
}

/// Process CPU time (user + system) from /proc/self/stat.
fn cpu_time() -> Duration {
    cpu_time_of("self")
}

/// CPU time (user + system) of process `pid` (or `self`) from /proc.
fn cpu_time_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process is running");
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

/// Peak resident set size in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    peak_rss_mib_of("self")
}

/// Peak resident set size of process `pid` (or `self`) in MiB (VmHWM).
fn peak_rss_mib_of(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process is running");
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

async fn mesh(model_url: &str, records: PathBuf, concurrency: usize) -> LocalMesh {
    // `BENCH_FIXED_CONCURRENCY=1`: the model clients' limit fixed at the
    // ceiling instead of adaptive (for comparing the two).
    let adaptive_concurrency = std::env::var("BENCH_FIXED_CONCURRENCY").is_err();
    let llm = EndpointConfig {
        max_concurrency: concurrency.max(1),
        timeout_secs: 600,
        adaptive_concurrency,
        ..EndpointConfig::new(model_url, "sim-model")
    };
    LocalMesh::start(MeshSettings {
        user_agent_llm: llm.clone(),
        research_agent_llm: llm.clone(),
        supervisor_llm: llm,
        catalogs: vec![demo("catalog.jsonl")],
        web_corpus: Some(demo("web")),
        records_dir: records,
        caps: Caps::default(),
        batch_concurrency: concurrency,
        min_report_tool_calls: 2,
        model_call_checks: true,
        keep_sent_back_reports: true,
        // `BENCH_TRANSPORT=loopback`: the services call each other over
        // loopback TCP, as before in-process calls (for comparing the two).
        in_process: std::env::var("BENCH_TRANSPORT").as_deref() != Ok("loopback"),
    })
    .await
    .unwrap()
}

/// Milliseconds from `origin` to an event's RFC 3339 timestamp.
fn ms_since(origin: chrono::DateTime<chrono::Utc>, timestamp: &str) -> f64 {
    let at = chrono::DateTime::parse_from_rfc3339(timestamp).expect("event timestamps are RFC 3339");
    (at.with_timezone(&chrono::Utc) - origin).num_milliseconds() as f64
}

/// The nearest-rank `q` quantile of `sorted`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// Seconds at p50, p99 and max.
fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!("p50 {:.2} s, p99 {:.2} s, max {:.2} s", quantile(&v, 0.5), quantile(&v, 0.99), quantile(&v, 1.0))
}

fn steps(ts: &[productresearch_record::Trajectory]) -> usize {
    ts.iter().map(|t| t.events.iter().filter(|e| matches!(e.body, EventBody::Step(_))).count()).sum()
}

/// The simulated model in a child process (this binary, `model-server` mode),
/// so the figures below are the mesh's own: its CPU and memory are not the
/// model's. It still shares the two cores; its work competes with the mesh's.
struct ModelServer {
    child: std::process::Child,
    replies: std::io::BufReader<std::process::ChildStdout>,
    base_url: String,
}

/// What the model server reports: requests, its CPU time, and the nominal
/// time of its answers (latency + decode, summed), per trajectory too.
#[derive(serde::Serialize, serde::Deserialize)]
struct ModelStats {
    requests: u64,
    cpu_secs: f64,
    answer_secs: f64,
    by_trajectory: HashMap<String, f64>,
}

impl ModelServer {
    fn start(config: &SimConfig) -> Self {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["model-server", &toml::to_string(config).unwrap()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the bench can start itself as the model server");
        let mut replies = std::io::BufReader::new(child.stdout.take().unwrap());
        let base_url = read_line(&mut replies);
        assert!(base_url.starts_with("http://"), "model server said {base_url:?}");
        Self { child, replies, base_url }
    }

    fn stats(&mut self) -> ModelStats {
        use std::io::Write;
        writeln!(self.child.stdin.as_mut().unwrap(), "stats").unwrap();
        serde_json::from_str(&read_line(&mut self.replies)).expect("model server stats")
    }

    fn stop(mut self) -> ModelStats {
        let stats = self.stats();
        drop(self.child.stdin.take());
        self.child.wait().unwrap();
        stats
    }
}

fn read_line(from: &mut impl std::io::BufRead) -> String {
    let mut line = String::new();
    from.read_line(&mut line).unwrap();
    line.trim().to_owned()
}

/// `model-server` mode: serves; answers each `stats` line on stdin (one JSON
/// line); ends when stdin closes.
fn serve_model(config: &str) {
    use std::io::BufRead;
    // The server runs on the runtime's workers while this thread reads stdin.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let sim = runtime.block_on(productresearch_sim_llm::spawn_local(SimConfig::from_toml_str(config).unwrap())).unwrap();
    println!("{}", sim.base_url());
    for _ in std::io::stdin().lock().lines().map_while(Result::ok) {
        let stats = ModelStats {
            requests: sim.requests(),
            cpu_secs: cpu_time().as_secs_f64(),
            answer_secs: sim.answer_time().as_secs_f64(),
            by_trajectory: sim.answers_by_trajectory().into_iter().map(|(id, a)| (id, a.time.as_secs_f64())).collect(),
        };
        println!("{}", serde_json::to_string(&stats).unwrap());
    }
    runtime.block_on(sim.shutdown());
}

/// `realistic` (each call's first-token latency 0.5–1.5 s, as real servers
/// vary) or `lockstep` (exactly 1 s, so identical trajectories hit the mesh
/// in the same millisecond every step: the worst case).
async fn realistic(n: usize, jitter_ms: u64) {
    let config = SimConfig { latency_ms: 1_000, latency_jitter_ms: jitter_ms, tokens_per_sec: Some(50.0), ..Default::default() };
    let mut sim = ModelServer::start(&config);
    let work = tempfile::tempdir().unwrap();
    let mesh = mesh(&sim.base_url, work.path().join("records"), n).await;
    let out = work.path().join("out");

    // One trajectory alone: what the idle mesh adds to its model time.
    let t0 = Instant::now();
    let one = pipeline::synthesize(&mesh.endpoints.supervisor, histories(1), Caps::default(), 1, &out, |_| {}, |_| {}).await.unwrap();
    let alone = t0.elapsed();
    assert!(one.trajectories[0].approved());
    let alone_model = Duration::from_secs_f64(sim.stats().answer_secs);

    let mut batch = histories(n + 1);
    batch.remove(0); // not the calibration one (it would be skipped as done)
    let cpu0 = cpu_time();
    let origin = chrono::Utc::now();
    let t0 = Instant::now();
    let done = pipeline::synthesize(&mesh.endpoints.supervisor, batch, Caps::default(), n, &out, |_| {}, |_| {}).await.unwrap();
    let wall = t0.elapsed();
    let cpu = cpu_time() - cpu0;
    mesh.stop().await.unwrap();
    let model = sim.stop();
    let steps = print_batch(n, jitter_ms, &done.trajectories, wall, &model);
    println!(
        "  CPU                 {:.1} s total, {:.0} µs per research step (5 services; the model server's own: {:.1} s)",
        cpu.as_secs_f64(),
        cpu.as_micros() as f64 / steps as f64,
        model.cpu_secs
    );
    println!("  peak RSS            {:.0} MiB (5 services)", peak_rss_mib());
    // Per trajectory: its end minus the batch start minus its model time is
    // the time it spent in the mesh, waiting for CPU included.
    let mesh_times: Vec<f64> = done
        .trajectories
        .iter()
        .map(|t| {
            ms_since(origin, &t.events.last().expect("a finished trajectory has events").timestamp) / 1e3
                - model_time(&model, t).as_secs_f64()
        })
        .collect();
    println!("  mesh time per trajectory  {} (one alone: {:.2} s)", summary(mesh_times), alone.as_secs_f64() - alone_model.as_secs_f64());
}

/// A trajectory's model time: the latency and decode of its calls, as the model server attributed them.
fn model_time(model: &ModelStats, t: &productresearch_record::Trajectory) -> Duration {
    Duration::from_secs_f64(*model.by_trajectory.get(&t.trajectory_id).expect("every trajectory's model calls are attributed"))
}

/// Prints a batch's outcome against the LLM-bound ideal; returns its research steps.
fn print_batch(n: usize, jitter_ms: u64, done: &[productresearch_record::Trajectory], wall: Duration, model: &ModelStats) -> usize {
    let approved = done.iter().filter(|t| t.approved()).count();
    let steps = steps(done);
    // The LLM-bound ideal: with an unlimited model and a mesh that costs
    // nothing, the batch takes its slowest trajectory's model time.
    let ideal = done.iter().map(|t| model_time(model, t)).max().expect("a batch");
    let jitter = if jitter_ms == 0 { "exactly 1 s".to_owned() } else { format!("1 s ± {jitter_ms} ms") };
    println!("{n} trajectories at once; model: first token after {jitter}, then 50 tokens/s");
    println!("  approved            {approved}/{n}, {steps} research steps, {} model requests", model.requests);
    println!("  LLM-bound ideal     {:.2} s (the slowest trajectory's model time: latency + decode of its calls)", ideal.as_secs_f64());
    println!("  all {n:<5} wall      {:.2} s", wall.as_secs_f64());
    println!(
        "  throughput          {:.2} trajectories/s (LLM-bound ideal {:.2})",
        n as f64 / wall.as_secs_f64(),
        n as f64 / ideal.as_secs_f64()
    );
    println!("  overhead            {:.2} % of wall", 100.0 * (wall.as_secs_f64() - ideal.as_secs_f64()).max(0.0) / wall.as_secs_f64());
    steps
}

/// A [`GrpcMesh`] that times each verdict → next step turn of the research stream, by step kind.
struct TimingMesh {
    grpc: GrpcMesh,
    turns: Arc<Mutex<HashMap<StepKind, Vec<Duration>>>>,
}

impl Mesh for TimingMesh {
    async fn infer_intent(&self, h: &UserHistory) -> Result<supervisor::InferredIntent, MeshError> {
        self.grpc.infer_intent(h).await
    }
    async fn list_tools(&self) -> Result<supervisor::ToolList, MeshError> {
        self.grpc.list_tools().await
    }
    async fn open_research(&self, start: StartSession) -> Result<ResearchLink, MeshError> {
        let inner = self.grpc.open_research(start).await?;
        let sent: Arc<Mutex<Option<Instant>>> = Arc::default();
        let (tx, mut rx) = mpsc::channel::<Box<supervisor::VerdictMessage>>(4);
        let forward = inner.verdicts.clone();
        let stamp = sent.clone();
        tokio::spawn(async move {
            while let Some(v) = rx.recv().await {
                *stamp.lock().unwrap() = Some(Instant::now());
                if forward.send(v).await.is_err() {
                    return;
                }
            }
        });
        drop(inner.verdicts);
        let turns = self.turns.clone();
        let steps = inner.steps.map(move |m| {
            if let (Ok(supervisor::AgentMessage::Step(s) | supervisor::AgentMessage::TracedStep { step: s, .. }), Some(at)) =
                (&m, sent.lock().unwrap().take())
            {
                turns.lock().unwrap().entry(s.kind).or_default().push(at.elapsed());
            }
            m
        });
        Ok(ResearchLink { verdicts: tx, steps: Box::pin(steps), agent_skips_result_verdicts: inner.agent_skips_result_verdicts })
    }
}

/// p50 and p99 in µs, and the count.
fn percentiles(v: Vec<Duration>) -> (f64, f64, usize) {
    let mut us: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    (quantile(&us, 0.5), quantile(&us, 0.99), us.len())
}

async fn zero(n: usize) {
    let work = tempfile::tempdir().unwrap();
    // `productresearch run`'s telemetry defaults: spans exported to a traces
    // file, logs at `warn` (`BENCH_LOG` sets another filter, e.g. `info`).
    // `BENCH_TELEMETRY=off`: no exporter (spans are still made, for the
    // trace context the hops carry), to tell the export's share apart.
    let export = std::env::var("BENCH_TELEMETRY").as_deref() != Ok("off");
    let telemetry = productresearch_runtime::telemetry::TelemetryConfig {
        traces_file: export.then(|| work.path().join("traces.jsonl")),
        log_filter: std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        ..Default::default()
    };
    let _telemetry = productresearch_runtime::telemetry::init("bench", &telemetry);
    let mut sim = ModelServer::start(&SimConfig::default());
    let mesh = mesh(&sim.base_url, work.path().join("records"), 16).await;

    // CPU per research step and per model request, under load.
    let requests0 = sim.stats().requests;
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let done = pipeline::synthesize(
        &mesh.local_endpoints().supervisor,
        histories(n),
        Caps::default(),
        16,
        &work.path().join("out"),
        |_| {},
        |_| {},
    )
    .await
    .unwrap();
    let wall = t0.elapsed();
    let cpu = cpu_time() - cpu0;
    let requests = sim.stats().requests - requests0;
    let steps = steps(&done.trajectories);

    let spans = if export { "spans exported to a traces file" } else { "spans not exported (BENCH_TELEMETRY=off)" };
    println!("zero model latency; {spans}, records appended, logs {}", telemetry.log_filter);
    println!("  {n} trajectories (16 at once): {:.2} s wall, {steps} research steps, {requests} model requests", wall.as_secs_f64());
    println!(
        "  CPU (5 services): {:.0} µs per research step, {:.0} µs per model request",
        cpu.as_micros() as f64 / steps as f64,
        cpu.as_micros() as f64 / requests as f64
    );
    if export {
        _telemetry.flush();
        span_census(&work.path().join("traces.jsonl"), requests);
    }
    // `BENCH_HOPS=0` skips the hop timings, so a profile of the run holds
    // only the loaded batch above.
    if std::env::var("BENCH_HOPS").as_deref() != Ok("0") {
        time_hops(&mesh, &sim, work.path()).await;
    }
    mesh.stop().await.unwrap();
    sim.stop();
}

/// Prints how many spans the batch exported per model request, and the
/// most frequent names: every span is work on the hot path (created,
/// ended, queued, written out), so its count is part of the CPU figure.
fn span_census(traces: &std::path::Path, requests: u64) {
    let mut names: HashMap<String, u64> = HashMap::new();
    let text = std::fs::read_to_string(traces).unwrap_or_default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let resources = v["resourceSpans"].as_array().into_iter().flatten();
        for span in resources
            .flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten())
            .flat_map(|s| s["spans"].as_array().into_iter().flatten())
        {
            *names.entry(span["name"].as_str().unwrap_or("?").to_string()).or_default() += 1;
        }
    }
    let total: u64 = names.values().sum();
    let mut top: Vec<_> = names.into_iter().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.1));
    let per = |c: u64| c as f64 / requests.max(1) as f64;
    let listed: Vec<String> = top.iter().take(8).map(|(n, c)| format!("{n} {:.2}", per(*c))).collect();
    println!("  spans exported: {total}, {:.1} per model request ({})", per(total), listed.join(", "));
}

/// p50/p99 per hop, unloaded: one trajectory at a time through a timing
/// mesh, then direct `CallTool` calls.
async fn time_hops(mesh: &LocalMesh, sim: &ModelServer, work: &std::path::Path) {
    let e = &mesh.endpoints;
    let turns = Arc::new(Mutex::new(HashMap::new()));
    let grpc = GrpcMesh::new(
        channel("user-agent", &ClientConfig::single(&e.user_agent)).unwrap(),
        channel("research-agent", &ClientConfig::single(&e.research_agent)).unwrap(),
        channel("tool-gateway", &ClientConfig::single(&e.tool_gateway)).unwrap(),
    );
    let llm = LlmClient::new(EndpointConfig::new(&sim.base_url, "sim-model")).unwrap();
    let sup = Supervisor::new(Arc::new(TimingMesh { grpc, turns: turns.clone() }), llm, Caps::default(), work.join("timed"));
    for h in histories(40) {
        sup.synthesize(h, Caps::default(), None).await.unwrap();
    }
    let mut tool = ToolGatewayServiceClient::new(channel("tool-gateway", &ClientConfig::single(&e.tool_gateway)).unwrap());
    let mut calls = Vec::new();
    for i in 0..2_000 {
        let request = CallToolRequest {
            name: "product_search".into(),
            arguments_json: format!(r#"{{"query": "espresso grinder {}"}}"#, i % 50),
            trajectory_id: "bench".into(),
        };
        let t = Instant::now();
        tool.call_tool(request).await.unwrap();
        calls.push(t.elapsed());
    }

    let turns = turns.lock().unwrap().clone();
    for (kind, what) in [
        (StepKind::ToolResult, "supervisor -> research-agent -> tool-gateway -> back (verdict to TOOL_RESULT)"),
        (StepKind::ToolCall, "supervisor -> research-agent -> model (HTTP) -> back (verdict to TOOL_CALL)"),
        (StepKind::Report, "supervisor -> research-agent -> model (HTTP) -> back (verdict to REPORT)"),
    ] {
        if let Some(v) = turns.get(&kind) {
            let (p50, p99, count) = percentiles(v.clone());
            println!("  {what}: p50 {p50:.0} µs, p99 {p99:.0} µs (n={count})");
        }
    }
    let (p50, p99, count) = percentiles(calls);
    println!("  research-agent-side hop: CallTool unary to tool-gateway (product_search): p50 {p50:.0} µs, p99 {p99:.0} µs (n={count})");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, config] = &args[..]
        && mode == "model-server"
    {
        return serve_model(config);
    }
    let mode = args
        .iter()
        .skip(1)
        .find(|a| ["realistic", "lockstep", "processes", "zero"].contains(&a.as_str()))
        .cloned()
        .unwrap_or_else(|| "zero".into());
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(if mode == "zero" { 200 } else { 1_000 });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        match mode.as_str() {
            "realistic" => realistic(n, 500).await,
            "lockstep" => realistic(n, 0).await,
            "processes" => processes::processes(n).await,
            _ => zero(n).await,
        }
    });
}
