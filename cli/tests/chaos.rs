//! Chaos: the five service binaries as separate processes on loopback, a batch
//! of 50 trajectories on the simulated model, and services SIGKILLed and
//! restarted on the same port while it runs. Every trajectory must finish
//! approved, exactly once, with a valid record.

use std::collections::HashSet;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use productresearch::pipeline::{self, Reconnect};
use productresearch_llm::EndpointConfig;
use productresearch_record::{HistoryEvent, HistoryEventKind, TerminationReason, Trajectory, UserHistory};
use productresearch_runtime::client::ClientConfig;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::process::{Child, Command};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const TRAJECTORIES: usize = 50;
const SERVICES: [&str; 5] = ["tool-gateway", "user-agent", "research-agent", "distiller", "supervisor"];

fn demo(path: &str) -> PathBuf {
    productresearch::local_mesh::demo_data(path)
}

/// The service binaries, built (or found up to date) by cargo into the target
/// folder next to this package's binary: other packages' binaries are not
/// dependencies of this test, so a run of this package alone would otherwise
/// test stale ones.
fn binaries() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_productresearch")).parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "--quiet"]);
    if dir.file_name().is_some_and(|d| d == "release") {
        build.arg("--release");
    }
    for s in SERVICES {
        build.args(["-p", s, "--bin", s]);
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building the service binaries failed");
    dir
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Service {
    name: &'static str,
    grpc_name: &'static str,
    port: u16,
    config: PathBuf,
    child: Option<Child>,
}

impl Service {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the binary and waits until it serves; retries while the port is
    /// still held by the process just killed.
    async fn start(&mut self, bin: &Path) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut child = Command::new(bin.join(self.name))
                .args(["--listen", &format!("127.0.0.1:{}", self.port), "--config"])
                .arg(&self.config)
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    assert!(Instant::now() < deadline, "{} keeps exiting ({status})", self.name);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
                if serving(&self.url(), self.grpc_name).await {
                    self.child = Some(child);
                    return;
                }
                assert!(Instant::now() < deadline, "{} not serving within 60s", self.name);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
    }
}

async fn serving(url: &str, service: &str) -> bool {
    let Ok(channel) = tonic::transport::Endpoint::from_shared(url.to_string()).unwrap().connect().await else { return false };
    let status = HealthClient::new(channel).check(HealthCheckRequest { service: service.to_string() }).await;
    status.is_ok_and(|s| s.into_inner().status == ServingStatus::Serving as i32)
}

fn write_config(dir: &Path, name: &str, config: &impl Serialize) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml::to_string(config).unwrap()).unwrap();
    path
}

fn histories() -> Vec<UserHistory> {
    let products = ["espresso grinder", "trail running shoes", "noise cancelling headphones", "robot vacuum", "standing desk"];
    (0..TRAJECTORIES)
        .map(|i| UserHistory {
            user_id: format!("chaos-{i:03}"),
            events: vec![HistoryEvent {
                kind: HistoryEventKind::Purchase,
                timestamp: None,
                product_id: String::new(),
                title: format!("{} model {i}", products[i % products.len()]),
                price: Some(50.0 + i as f64),
                rating: None,
                text: String::new(),
                category: String::new(),
            }],
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_survives_services_killed_and_restarted() {
    productresearch_runtime::install_crypto_provider();
    let bin = binaries();
    // Slow enough that kills land mid-trajectory, fast enough for CI.
    let sim =
        productresearch_sim_llm::spawn_local(productresearch_sim_llm::SimConfig { latency_ms: 150, ..Default::default() }).await.unwrap();
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let port = |_| free_port();
    let ports: Vec<u16> = SERVICES.iter().map(port).collect();
    let url = |name: &str| format!("http://127.0.0.1:{}", ports[SERVICES.iter().position(|s| *s == name).unwrap()]);

    let configs = [
        write_config(
            dir,
            "tool-gateway",
            &tool_gateway::Config { catalogs: vec![demo("catalog.jsonl")], web_corpus: Some(demo("web")), ..Default::default() },
        ),
        write_config(dir, "user-agent", &user_agent::Config { llm: llm.clone(), ..Default::default() }),
        write_config(
            dir,
            "research-agent",
            &research_agent::Config { llm: llm.clone(), tool_gateway: ClientConfig::single(url("tool-gateway")), ..Default::default() },
        ),
        write_config(dir, "distiller", &distiller::Config::default()),
        write_config(
            dir,
            "supervisor",
            &supervisor::Config {
                llm: llm.clone(),
                user_agent: ClientConfig::single(url("user-agent")),
                research_agent: ClientConfig::single(url("research-agent")),
                tool_gateway: ClientConfig::single(url("tool-gateway")),
                records_dir: dir.join("records"),
                ..Default::default()
            },
        ),
    ];
    let grpc_names = [
        tool_gateway::SERVICE_NAME,
        user_agent::SERVICE_NAME,
        research_agent::SERVICE_NAME,
        distiller::SERVICE_NAME,
        supervisor::SERVICE_NAME,
    ];
    let mut services: Vec<Service> = (0..SERVICES.len())
        .map(|i| Service { name: SERVICES[i], grpc_name: grpc_names[i], port: ports[i], config: configs[i].clone(), child: None })
        .collect();
    for s in services.iter_mut() {
        s.start(&bin).await;
    }

    let out = dir.join("out");
    let supervisor_url = url("supervisor");
    let batch = {
        let out = out.clone();
        tokio::spawn(async move {
            pipeline::synthesize_with(&supervisor_url, histories(), Default::default(), 10, &out, Reconnect::default(), |_| {}, |_| {})
                .await
        })
    };

    // Every service but the distiller (idle during synthesis) dies at least
    // once, in random order, then random ones, 0.8–2 s apart.
    let mut rng = rand::rngs::StdRng::seed_from_u64(std::process::id() as u64);
    let mut victims = vec![0, 1, 2, 4];
    victims.shuffle(&mut rng);
    victims.extend((0..3).map(|_| rng.random_range(0..SERVICES.len())));
    let mut kills = Vec::new();
    let started = Instant::now();
    for v in victims {
        tokio::time::sleep(Duration::from_millis(rng.random_range(800..2000))).await;
        if batch.is_finished() {
            break;
        }
        let s = &mut services[v];
        s.kill().await;
        kills.push(s.name);
        eprintln!("chaos: {:>5.1}s SIGKILLed {}", started.elapsed().as_secs_f64(), s.name);
        s.start(&bin).await;
        eprintln!("chaos: {:>5.1}s {} serving again", started.elapsed().as_secs_f64(), s.name);
    }
    let outcome = tokio::time::timeout(Duration::from_secs(240), batch).await.expect("batch finishes").unwrap().unwrap();
    eprintln!("chaos: {:>5.1}s batch done; {} kills: {kills:?}", started.elapsed().as_secs_f64(), kills.len());
    assert!(kills.len() >= 4, "the batch ended before enough kills: {kills:?}");

    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(outcome.trajectories.len(), TRAJECTORIES);
    let ids: HashSet<&str> = outcome.trajectories.iter().map(|t| t.trajectory_id.as_str()).collect();
    assert_eq!(ids.len(), TRAJECTORIES, "duplicate trajectories");
    let users: HashSet<&str> = outcome.trajectories.iter().map(|t| t.user_id.as_str()).collect();
    assert_eq!(users.len(), TRAJECTORIES);
    let written = std::fs::read_to_string(out.join(pipeline::TRAJECTORIES_FILE)).unwrap();
    assert_eq!(written.lines().count(), TRAJECTORIES, "each trajectory written exactly once");
    for t in &outcome.trajectories {
        t.validate().unwrap();
        assert_eq!(t.termination().unwrap().reason, TerminationReason::Approved, "{}: {:?}", t.trajectory_id, t.termination());
        // The durable record is the returned one, event for event: nothing
        // recorded twice, nothing lost across the restarts.
        let log = std::fs::read_to_string(dir.join("records").join(format!("{}.jsonl", t.trajectory_id))).unwrap();
        let logged: Vec<productresearch_record::TrajectoryEvent> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(logged, t.events, "{}", t.trajectory_id);
        let mut replayed = Trajectory::new(&t.trajectory_id, &t.user_id);
        replayed.events = logged;
        replayed.validate().unwrap();
    }

    // The outputs distill: whole trajectories, none dropped as a failure or a
    // fragment (the simulated intents are alike, so near duplicates may go).
    let distilled = pipeline::distill(&url("distiller"), &url("tool-gateway"), &outcome.trajectories, 3, 2, &out).await.unwrap();
    assert!(distilled.examples > 0);
    assert_eq!(distilled.examples + distilled.drops.len(), TRAJECTORIES);
    let unexpected: Vec<_> = distilled.drops.iter().filter(|(_, filter, _)| filter != "near_duplicate").collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");

    for s in services.iter_mut() {
        s.kill().await;
    }
    sim.shutdown().await;
}
