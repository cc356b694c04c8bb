//! The five service binaries as separate processes on loopback, for the chaos
//! tests: started on free ports, SIGKILLed, and restarted on the same port.

#![allow(dead_code)] // each chaos test binary uses part of it

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use productresearch_llm::EndpointConfig;
use productresearch_record::{HistoryEvent, HistoryEventKind, TerminationReason, Trajectory, UserHistory};
use productresearch_runtime::client::ClientConfig;
use serde::Serialize;
use tokio::process::{Child, Command};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub const SERVICES: [&str; 5] = ["tool-gateway", "user-agent", "research-agent", "distiller", "supervisor"];

pub fn demo(path: &str) -> PathBuf {
    productresearch::local_mesh::demo_data(path)
}

/// The service binaries, built (or found up to date) by cargo into the target
/// folder next to this package's binary: other packages' binaries are not
/// dependencies of this test, so a run of this package alone would otherwise
/// test stale ones. They are built as `cargo test --workspace` builds them
/// (`scripts/ci-tools.sh` `build_binaries`), in cargo's own environment, so
/// within a workspace run there is nothing to do (the test took 245 s, of
/// which 15 s were the batch, before both; 18 s after).
/// Prefixes of the variables cargo sets for a test process about its package.
const PACKAGE_VARIABLES: [&str; 7] =
    ["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"];

pub fn binaries() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_productresearch")).parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args(["test", "--workspace", "--no-run", "--quiet"]);
    if dir.file_name().is_some_and(|d| d == "release") {
        build.arg("--release");
    }
    // Cargo gives this test the package's variables (CARGO_MANIFEST_DIR,
    // CARGO_PKG_NAME ...). Some build scripts rerun when those change (ring's
    // does), so passed on they made this build compile ring and everything
    // above it again, and the next plain build undo it: minutes each time.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if PACKAGE_VARIABLES.iter().any(|prefix| name.starts_with(prefix)) {
            build.env_remove(&*name);
        }
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building the service binaries failed");
    dir
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Service {
    pub name: &'static str,
    grpc_name: &'static str,
    port: u16,
    config: PathBuf,
    child: Option<Child>,
}

impl Service {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the binary and waits until it serves; retries while the port is
    /// still held by the process just killed.
    pub async fn start(&mut self, bin: &Path) {
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

    /// SIGKILL, and waits for the process to be gone.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.start_kill().unwrap();
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

/// The five services as processes, all on the model at `llm`, recording into
/// `<dir>/records`.
pub struct ProcMesh {
    pub services: Vec<Service>,
    pub dir: PathBuf,
}

impl ProcMesh {
    pub async fn start(bin: &Path, llm: &EndpointConfig, dir: &Path) -> Self {
        let ports: Vec<u16> = SERVICES.iter().map(|_| free_port()).collect();
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
            // The distiller reflects with the model, as `productresearch run` has it do.
            write_config(dir, "distiller", &distiller::Config { reflection: Some(llm.clone()), ..Default::default() }),
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
            s.start(bin).await;
        }
        Self { services, dir: dir.to_path_buf() }
    }

    pub fn service(&mut self, name: &str) -> &mut Service {
        self.services.iter_mut().find(|s| s.name == name).unwrap()
    }

    pub fn url(&self, name: &str) -> String {
        self.services.iter().find(|s| s.name == name).unwrap().url()
    }

    pub async fn stop(&mut self) {
        for s in self.services.iter_mut() {
            if s.child.is_some() {
                s.kill().await;
            }
        }
    }
}

/// `n` histories whose ids start with `prefix`. Their products are kinds
/// the demo catalog and web corpus hold: these tests are about faults, and a
/// trajectory with nothing to find never gets a report approved.
pub fn histories(prefix: &str, n: usize) -> Vec<UserHistory> {
    let products = ["espresso grinder", "trail running shoes", "noise cancelling headphones", "laptop backpack", "wireless earbuds"];
    (0..n)
        .map(|i| UserHistory {
            user_id: format!("{prefix}-{i:03}"),
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

/// Every trajectory approved, exactly once, and its log on disk equal to the
/// returned record, event for event: nothing recorded twice, nothing lost.
pub fn assert_all_approved_once(trajectories: &[Trajectory], expected: usize, records: &Path, out: &Path) {
    use std::collections::HashSet;
    assert_eq!(trajectories.len(), expected);
    let ids: HashSet<&str> = trajectories.iter().map(|t| t.trajectory_id.as_str()).collect();
    assert_eq!(ids.len(), expected, "duplicate trajectories");
    let users: HashSet<&str> = trajectories.iter().map(|t| t.user_id.as_str()).collect();
    assert_eq!(users.len(), expected);
    let written = std::fs::read_to_string(out.join(productresearch::pipeline::TRAJECTORIES_FILE)).unwrap();
    assert_eq!(written.lines().count(), expected, "each trajectory written exactly once");
    for t in trajectories {
        t.validate().unwrap();
        assert_eq!(t.termination().unwrap().reason, TerminationReason::Approved, "{}: {:?}", t.trajectory_id, t.termination());
        let log = std::fs::read_to_string(records.join(format!("{}.jsonl", t.trajectory_id))).unwrap();
        let logged: Vec<productresearch_record::TrajectoryEvent> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(logged, t.events, "{}", t.trajectory_id);
        let mut replayed = Trajectory::new(&t.trajectory_id, &t.user_id);
        replayed.events = logged;
        replayed.validate().unwrap();
    }
}
