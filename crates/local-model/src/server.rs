//! The local model server as a supervised child process.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::process::{Child, Command};

use crate::{LocalModelConfig, LocalModelError, LocatedModel};

/// Only loopback: the server has no auth and must never be reachable from outside.
const HOST: &str = "127.0.0.1";
const POLL_EVERY: Duration = Duration::from_millis(100);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Picking a free port and the child binding it race with other processes; retry that only.
const BIND_ATTEMPTS: u32 = 3;
const LOG_TAIL_LINES: usize = 6;

/// A running llama.cpp server (via `scripts/serve_model.py`) on a loopback port, serving an
/// OpenAI-compatible API at [`LocalModel::base_url`]. Dropping it kills the server.
#[derive(Debug)]
pub struct LocalModel {
    child: Option<Child>,
    /// Keeps the thread that spawned the child alive: PR_SET_PDEATHSIG fires when the
    /// spawning *thread* exits, not just the process (see `spawn_server`).
    parent_thread: Option<std::sync::mpsc::Sender<()>>,
    port: u16,
    model: String,
    context_length: Option<u32>,
    log_path: PathBuf,
}

impl LocalModel {
    /// Checks the model is set up (READY + gguf + venv python exist), else
    /// [`LocalModelError::NotSetUp`], whose message names the fix. Also checks the server script.
    pub fn locate(config: &LocalModelConfig) -> Result<LocatedModel, LocalModelError> {
        crate::setup::locate(config)
    }

    /// Picks a free 127.0.0.1 port, spawns `<venv>/bin/python serve_model.py ...` with its
    /// output appended to `server.log`, waits until `GET /health` answers 200 (polled every
    /// 100 ms, bounded by `startup_timeout_secs`; an early exit is reported with its status
    /// and the log tail), then reads `GET /v1/models` for the model id and context length.
    ///
    /// Must run inside a tokio runtime (with IO and time enabled).
    pub async fn start(located: LocatedModel, config: &LocalModelConfig) -> Result<LocalModel, LocalModelError> {
        config.validate()?;
        if !located.script.is_file() {
            return Err(LocalModelError::ScriptMissing { path: located.script });
        }
        let http = probe_client()?;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(config.startup_timeout_secs);

        let mut attempt = 1;
        let mut server = loop {
            let port = free_port()?;
            let log_start = std::fs::metadata(&located.log_path).map_or(0, |m| m.len());
            let mut server = spawn_server(&located, config, port).await?;
            match server.wait_healthy(&http, deadline, log_start, config.startup_timeout_secs).await {
                Ok(()) => break server,
                Err(LocalModelError::ExitedEarly { log_tail, .. }) if attempt < BIND_ATTEMPTS && log_tail.contains("cannot bind") => {
                    tracing::warn!(port, attempt, "model server could not bind its port; retrying on another");
                    attempt += 1;
                }
                // `server` drops here: kill_on_drop ends a child that is still alive
                Err(e) => return Err(e),
            }
        };

        server.model = located.model_stem();
        match read_models(&http, &server.base_url()).await {
            Ok((id, ctx)) => {
                if let Some(id) = id {
                    server.model = id;
                }
                server.context_length = ctx;
            }
            // The server is healthy; the stem is a usable id, so this only costs metadata.
            Err(e) => tracing::warn!(error = %e, "cannot read /v1/models; using the gguf file stem as model id"),
        }
        tracing::info!(
            base_url = %server.base_url(),
            model = %server.model,
            context_length = ?server.context_length,
            startup_ms = started.elapsed().as_millis() as u64,
            "local model server ready"
        );
        Ok(server)
    }

    /// `http://127.0.0.1:PORT/v1`: what an OpenAI-compatible client takes as its base URL.
    pub fn base_url(&self) -> String {
        format!("http://{HOST}:{}/v1", self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Model id as `/v1/models` reports it (fallback: the gguf file stem).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Context size the server runs with (`meta.n_ctx` in `/v1/models`), when offered.
    pub fn context_length(&self) -> Option<u32> {
        self.context_length
    }

    /// The log the server's stdout and stderr are appended to.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// SIGTERM, wait up to 5 s for a clean exit, then SIGKILL.
    pub async fn stop(mut self) -> Result<(), LocalModelError> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        // id() is None once the child was reaped, so the pid cannot have been reused.
        if let Some(pid) = child.id() {
            // SAFETY: plain kill(2) on our own unreaped child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
        let outcome = match tokio::time::timeout(STOP_GRACE, child.wait()).await {
            Ok(Ok(status)) => {
                tracing::info!(%status, "local model server stopped");
                Ok(())
            }
            Ok(Err(e)) => Err(LocalModelError::io("cannot wait for the model server", e)),
            Err(_) => {
                tracing::warn!("local model server ignored SIGTERM for 5 s; killing it");
                child.kill().await.map_err(|e| LocalModelError::io("cannot kill the model server", e))
            }
        };
        self.parent_thread.take();
        outcome
    }

    async fn wait_healthy(
        &mut self,
        http: &reqwest::Client,
        deadline: Instant,
        log_start: u64,
        timeout_secs: u64,
    ) -> Result<(), LocalModelError> {
        let url = format!("http://{HOST}:{}/health", self.port);
        let child = self.child.as_mut().expect("a starting server has its child");
        loop {
            if let Some(status) = child.try_wait().map_err(|e| LocalModelError::io("cannot poll the model server process", e))? {
                return Err(LocalModelError::ExitedEarly { status: status.to_string(), log_tail: log_tail(&self.log_path, log_start) });
            }
            // 503 while the model loads, connection refused before the socket is bound
            if let Ok(resp) = http.get(&url).timeout(PROBE_TIMEOUT).send().await
                && resp.status() == reqwest::StatusCode::OK
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LocalModelError::StartupTimeout { secs: timeout_secs, log_tail: log_tail(&self.log_path, log_start) });
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

impl Drop for LocalModel {
    /// Best effort: SIGKILL without waiting (tokio reaps the child in the background).
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// Spawns the server on a dedicated thread that lives as long as the returned handle.
///
/// The child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG), so a
/// SIGKILLed supervisor does not leak a 0.7 GB server. The kernel tracks the spawning
/// *thread*: spawning from a tokio worker (or a blocking-pool thread that idles out) could
/// kill the server while the supervisor still runs, so a thread of our own spawns it.
async fn spawn_server(located: &LocatedModel, config: &LocalModelConfig, port: u16) -> Result<LocalModel, LocalModelError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&located.log_path)
        .map_err(|e| LocalModelError::io(format!("cannot open model server log {}", located.log_path.display()), e))?;
    let log_err =
        log.try_clone().map_err(|e| LocalModelError::io(format!("cannot open model server log {}", located.log_path.display()), e))?;

    let mut cmd = Command::new(&located.python);
    cmd.arg("-u")
        .arg(&located.script)
        .arg("--model")
        .arg(&located.model_path)
        .args(["--host", HOST, "--port", &port.to_string()])
        .args(["--ctx-size", &config.ctx_size.to_string()])
        .args(["--parallel", &config.parallel.to_string()])
        .args(["--threads", &config.threads.to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .kill_on_drop(true);
    die_with_parent(&mut cmd);

    let runtime = tokio::runtime::Handle::current();
    let (spawned_tx, spawned_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("local-model-parent".to_owned())
        .spawn(move || {
            // tokio's Child registers with the runtime's process driver
            let _runtime = runtime.enter();
            let spawned = cmd.spawn();
            let ok = spawned.is_ok();
            let _ = spawned_tx.send(spawned);
            if ok {
                // returns Err once the LocalModel drops its Sender
                let _ = release_rx.recv();
            }
        })
        .map_err(|e| LocalModelError::io("cannot start the model server's parent thread", e))?;

    let child = spawned_rx
        .await
        .map_err(|_| LocalModelError::io("model server parent thread died", std::io::Error::other("no spawn result")))?
        .map_err(|e| LocalModelError::io(format!("cannot run {}", located.python.display()), e))?;
    tracing::debug!(pid = ?child.id(), port, log = %located.log_path.display(), "spawned local model server");

    Ok(LocalModel {
        child: Some(child),
        parent_thread: Some(release_tx),
        port,
        model: located.model_stem(),
        context_length: None,
        log_path: located.log_path.clone(),
    })
}

#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // Runs in the child between fork and exec: async-signal-safe calls only, no allocation.
    let hook = move || -> std::io::Result<()> {
        // SAFETY: prctl and getppid are async-signal-safe and touch no Rust state.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died before prctl took effect: nobody will signal us, so don't start.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
        Ok(())
    };
    // SAFETY: the hook only makes async-signal-safe calls (see above).
    unsafe {
        cmd.pre_exec(hook);
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

fn free_port() -> Result<u16, LocalModelError> {
    let listener = std::net::TcpListener::bind((HOST, 0)).map_err(|e| LocalModelError::io("cannot find a free loopback port", e))?;
    let port = listener.local_addr().map_err(|e| LocalModelError::io("cannot find a free loopback port", e))?.port();
    Ok(port)
}

/// A client for plain HTTP on loopback. reqwest is built with `rustls-no-provider`, which
/// panics on build unless a TLS provider is set; give it an explicit ring config with no
/// roots instead of relying on (or installing) a process-wide default.
fn probe_client() -> Result<reqwest::Client, LocalModelError> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| LocalModelError::Probe(format!("cannot build the http client: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // a configured HTTP(S)_PROXY must never see loopback traffic
        .no_proxy()
        .build()
        .map_err(|e| LocalModelError::Probe(format!("cannot build the http client: {e}")))
}

#[derive(Deserialize)]
struct ModelList {
    #[serde(default)]
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: Option<String>,
    #[serde(default)]
    meta: Option<ModelMeta>,
}

#[derive(Deserialize)]
struct ModelMeta {
    n_ctx: Option<u64>,
}

async fn read_models(http: &reqwest::Client, base_url: &str) -> Result<(Option<String>, Option<u32>), LocalModelError> {
    let url = format!("{base_url}/models");
    let resp = http
        .get(&url)
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| LocalModelError::Probe(format!("GET {url}: {e}")))?;
    let list: ModelList = resp.json().await.map_err(|e| LocalModelError::Probe(format!("GET {url}: {e}")))?;
    let Some(first) = list.data.into_iter().next() else { return Ok((None, None)) };
    let ctx = first.meta.and_then(|m| m.n_ctx).and_then(|n| u32::try_from(n).ok());
    Ok((first.id.filter(|id| !id.is_empty()), ctx))
}

/// The last lines this run wrote to the log, on one line.
fn log_tail(path: &Path, from: u64) -> String {
    const MAX_BYTES: u64 = 16 * 1024;
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(from.max(len.saturating_sub(MAX_BYTES))))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    let text = match read() {
        Ok(text) => text,
        Err(e) => return format!("(cannot read {}: {e})", path.display()),
    };
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return "(empty)".to_owned();
    }
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_reads_only_this_run_and_joins_lines() {
        let path = std::env::temp_dir().join(format!("pr-local-model-log-{}", std::process::id()));
        std::fs::write(&path, "old run\n").unwrap();
        let from = std::fs::metadata(&path).unwrap().len();
        std::fs::write(&path, "old run\na\n\nb\nserve_model: error: boom\n").unwrap();
        assert_eq!(log_tail(&path, from), "a | b | serve_model: error: boom");
        assert!(log_tail(&path.with_extension("none"), 0).contains("cannot read"));
    }

    #[test]
    fn probe_client_builds_without_a_global_tls_provider() {
        probe_client().unwrap();
    }

    #[tokio::test]
    async fn early_exit_reports_status_and_log_tail() {
        let dir = std::env::temp_dir().join(format!("pr-local-model-exit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("serve.py");
        // "python" here is sh running a script that fails like serve_model.py does
        std::fs::write(&script, "echo 'serve_model: error: model file not found: x' >&2; exit 3\n").unwrap();
        let located =
            LocatedModel { model_path: dir.join("m.gguf"), python: PathBuf::from("/bin/sh"), script, log_path: dir.join("server.log") };
        let config = LocalModelConfig { startup_timeout_secs: 10, ..LocalModelConfig::default() };
        let err = LocalModel::start(located, &config).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LocalModelError::ExitedEarly { .. }), "{err:?}");
        assert!(msg.contains("exit status: 3"), "{msg}");
        assert!(msg.contains("model file not found"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }

    fn fake_server(name: &str, script_body: &str) -> (PathBuf, LocatedModel) {
        let dir = std::env::temp_dir().join(format!("pr-local-model-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("serve.sh");
        std::fs::write(&script, script_body.replace("$DIR", &dir.display().to_string())).unwrap();
        let located =
            LocatedModel { model_path: dir.join("m.gguf"), python: PathBuf::from("/bin/sh"), script, log_path: dir.join("server.log") };
        (dir, located)
    }

    #[tokio::test]
    async fn busy_port_is_retried_on_another_port() {
        // first run fails like serve_model.py on a taken port, the second fails otherwise
        let (dir, located) = fake_server(
            "retry",
            "echo x >> $DIR/runs\n\
             if [ $(wc -l < $DIR/runs) -eq 1 ]; then echo 'serve_model: error: cannot bind 127.0.0.1:1: Address already in use' >&2; exit 1; fi\n\
             echo 'second run' >&2; exit 4\n",
        );
        let config = LocalModelConfig { startup_timeout_secs: 10, ..LocalModelConfig::default() };
        let err = LocalModel::start(located, &config).await.unwrap_err();
        assert!(err.to_string().contains("exit status: 4"), "{err}");
        assert_eq!(std::fs::read_to_string(dir.join("runs")).unwrap().lines().count(), 2);
    }

    #[tokio::test]
    async fn startup_timeout_kills_the_child() {
        let (dir, located) = fake_server("timeout", "echo $$ > $DIR/pid; echo 'loading' >&2; exec sleep 30\n");
        let config = LocalModelConfig { startup_timeout_secs: 1, ..LocalModelConfig::default() };
        let err = LocalModel::start(located, &config).await.unwrap_err();
        assert!(matches!(err, LocalModelError::StartupTimeout { secs: 1, .. }), "{err:?}");
        assert!(err.to_string().contains("loading"), "{err}");
        let pid = std::fs::read_to_string(dir.join("pid")).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        // dropped with kill_on_drop: gone, or a zombie waiting for tokio's reaper
        for _ in 0..50 {
            match std::fs::read_to_string(&stat) {
                Err(_) => return,
                Ok(s) if s.split(' ').nth(2) == Some("Z") => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        panic!("child {} still running after start() gave up", pid.trim());
    }
}
