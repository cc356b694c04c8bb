//! `processes`: the `realistic` batch with each service in its own process,
//! as a deployment runs them (the release binaries, configured by
//! environment as in the README's "Running the services separately"), so
//! each service's peak RSS and CPU are its own. The distiller is started and
//! stays idle, as in a mesh whose batch has not been distilled yet.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use productresearch::pipeline;
use productresearch_sim_llm::SimConfig;
use supervisor::Caps;

use super::{ModelServer, cpu_time_of, histories, peak_rss_mib_of, print_batch};

/// The five services: binary name and environment prefix.
const SERVICES: [(&str, &str); 5] = [
    ("tool-gateway", "TOOL_GATEWAY"),
    ("user-agent", "USER_AGENT"),
    ("research-agent", "RESEARCH_AGENT"),
    ("supervisor", "SUPERVISOR"),
    ("distiller", "DISTILLER"),
];

/// Where the service binaries are: `BENCH_BIN_DIR`, else the profile folder
/// this bench was built into (`target/release` for `cargo bench`).
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BENCH_BIN_DIR") {
        return dir.into();
    }
    let exe = std::env::current_exe().expect("the bench knows its own path");
    // target/release/deps/supervisor_load-<hash> -> target/release
    exe.parent().and_then(Path::parent).expect("the bench runs from a target folder").to_owned()
}

/// A free loopback port (released at once; the service binds it next).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

/// One service process.
struct Service {
    name: &'static str,
    child: Child,
}

impl Service {
    /// Peak RSS in MiB and CPU time in seconds, from /proc, while it runs.
    fn usage(&self) -> (f64, f64) {
        let pid = self.child.id().to_string();
        (peak_rss_mib_of(&pid), cpu_time_of(&pid).as_secs_f64())
    }

    /// SIGTERM, then up to 20 s for a graceful stop (spans flushed), then SIGKILL.
    fn stop(mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop within 20 s of SIGTERM; killed", self.name);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the five services against the model at `model_url`, `n` model
/// calls allowed in flight per role; returns them and the supervisor's URL.
fn start(model_url: &str, n: usize, work: &Path) -> (Vec<Service>, String) {
    let bin = bin_dir();
    let missing: Vec<_> = SERVICES.iter().map(|(name, _)| bin.join(name)).filter(|p| !p.is_file()).collect();
    assert!(
        missing.is_empty(),
        "missing service binaries {missing:?}: run `cargo build --release -p tool-gateway -p user-agent -p research-agent -p supervisor \
         -p distiller` first, or set BENCH_BIN_DIR"
    );
    let ports: Vec<u16> = SERVICES.iter().map(|_| free_port()).collect();
    let url = |service: &str| {
        let i = SERVICES.iter().position(|(name, _)| *name == service).unwrap();
        format!("http://127.0.0.1:{}", ports[i])
    };
    let endpoints = |service: &str| format!("[\"{}\"]", url(service));
    let mut services = Vec::new();
    for ((name, prefix), port) in SERVICES.iter().zip(&ports) {
        let mut command = Command::new(bin.join(name));
        command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .current_dir(work)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.join(format!("{name}.log"))).unwrap())
            // `productresearch run`'s telemetry: spans to a traces file, logs at warn
            // (`BENCH_TRACES=0`: no spans, to see what they cost).
            .env(format!("{prefix}_TELEMETRY__LOG_FILTER"), "warn");
        if std::env::var("BENCH_TRACES").as_deref() != Ok("0") {
            command.env(format!("{prefix}_TELEMETRY__TRACES_FILE"), work.join(format!("{name}-traces.jsonl")));
        }
        if ["user-agent", "research-agent", "supervisor"].contains(name) {
            command
                .env(format!("{prefix}_LLM__BASE_URL"), model_url)
                .env(format!("{prefix}_LLM__MODEL"), "sim-model")
                .env(format!("{prefix}_LLM__MAX_CONCURRENCY"), n.to_string())
                .env(format!("{prefix}_LLM__TIMEOUT_SECS"), "600");
        }
        match *name {
            "research-agent" => {
                command.env("RESEARCH_AGENT_TOOL_GATEWAY__ENDPOINTS", endpoints("tool-gateway"));
            }
            "supervisor" => {
                command
                    .env("SUPERVISOR_USER_AGENT__ENDPOINTS", endpoints("user-agent"))
                    .env("SUPERVISOR_RESEARCH_AGENT__ENDPOINTS", endpoints("research-agent"))
                    .env("SUPERVISOR_TOOL_GATEWAY__ENDPOINTS", endpoints("tool-gateway"))
                    .env("SUPERVISOR_RECORDS_DIR", work.join("records"))
                    .env("SUPERVISOR_BATCH_CONCURRENCY", n.to_string());
            }
            _ => {}
        }
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.join(name).display()));
        services.push(Service { name, child });
    }
    for (service, port) in services.iter_mut().zip(&ports) {
        wait_listening(service, *port, work);
    }
    (services, url("supervisor"))
}

/// Waits until `service` accepts connections on `port`; panics with its log if it exits.
fn wait_listening(service: &mut Service, port: u16, work: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = service.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(work.join(format!("{}.log", service.name))).unwrap_or_default();
            panic!("{} exited ({status}) before listening:\n{log}", service.name);
        }
        assert!(Instant::now() < deadline, "{} did not listen on {port} within 60 s", service.name);
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub async fn processes(n: usize) {
    let config = SimConfig { latency_ms: 1_000, latency_jitter_ms: 500, tokens_per_sec: Some(50.0), ..Default::default() };
    let sim = ModelServer::start(&config);
    let work = tempfile::tempdir().unwrap();
    let (services, supervisor) = start(&sim.base_url, n, work.path());

    let t0 = Instant::now();
    let done = pipeline::synthesize(&supervisor, histories(n), Caps::default(), n, &work.path().join("out"), |_| {}, |_| {}).await.unwrap();
    let wall = t0.elapsed();
    let usage: Vec<_> = services.iter().map(|s| (s.name, s.usage())).collect();
    // SIGTERM: each service flushes its spans as it stops.
    services.into_iter().for_each(Service::stop);
    let model = sim.stop();
    let spans: usize = SERVICES
        .iter()
        .filter_map(|(name, _)| std::fs::read_to_string(work.path().join(format!("{name}-traces.jsonl"))).ok())
        .map(|lines| lines.matches("\"spanId\"").count())
        .sum();

    let steps = print_batch(n, 500, &done.trajectories, wall, &model);
    println!("  each service in its own process (release binaries), the distiller idle:");
    for (name, (rss, cpu)) in &usage {
        println!("    {name:<15} peak RSS {rss:>6.0} MiB, CPU {cpu:>6.1} s");
    }
    let (rss, cpu): (f64, f64) = usage.iter().map(|(_, u)| *u).fold((0.0, 0.0), |a, u| (a.0 + u.0, a.1 + u.1));
    println!(
        "    {:<15} peak RSS {rss:>6.0} MiB, CPU {cpu:>6.1} s ({:.0} µs per research step, {:.0} µs per model request)",
        "all five",
        cpu * 1e6 / steps as f64,
        cpu * 1e6 / model.requests as f64
    );
    println!("  spans exported      {spans} ({:.1} per research step)", spans as f64 / steps as f64);
    // `BENCH_KEEP=1`: the services' logs, traces and records stay for a look
    // (e.g. the allocator's statistics with `MIMALLOC_SHOW_STATS=1`).
    if std::env::var("BENCH_KEEP").as_deref() == Ok("1") {
        println!("  kept in {}", work.keep().display());
    }
}
