//! The whole mesh on loopback: five services, each its own tonic server on a
//! free 127.0.0.1 port, talking real gRPC to each other.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use productresearch_llm::EndpointConfig;
use productresearch_runtime::client::ClientConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long a service may take to report SERVING (the gateway indexes its
/// catalog first).
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Interval between readiness probes.
const READY_PROBE: Duration = Duration::from_millis(20);

/// The services a local mesh runs, by name: in one process, each span is
/// exported with its own service's name (see `telemetry::init_services`).
pub const SERVICES: &[&str] = &[user_agent::NAME, research_agent::NAME, supervisor::NAME, tool_gateway::NAME, distiller::NAME];

/// What the mesh is started with.
#[derive(Debug, Clone)]
pub struct MeshSettings {
    /// Model of the user agent.
    pub user_agent_llm: EndpointConfig,
    /// Model of the research agent.
    pub research_agent_llm: EndpointConfig,
    /// Model of the supervisor.
    pub supervisor_llm: EndpointConfig,
    /// Catalog files.
    pub catalogs: Vec<PathBuf>,
    /// Web corpus folder.
    pub web_corpus: Option<PathBuf>,
    /// Where the supervisor writes trajectory records.
    pub records_dir: PathBuf,
    /// Default caps.
    pub caps: supervisor::Caps,
    /// Default batch concurrency.
    pub batch_concurrency: usize,
    /// Approved tool calls with results a report needs (the distiller's
    /// `min_tool_calls`: one setting for both).
    pub min_report_tool_calls: u32,
    /// The supervisor's model judges the tool calls that pass its
    /// deterministic checks (off on the embedded model by default).
    pub model_call_checks: bool,
    /// The research agent keeps a sent-back report in its context (off on
    /// the embedded model by default).
    pub keep_sent_back_reports: bool,
    /// The services call each other in process (`in-process://`, no sockets
    /// or HTTP/2; see `productresearch_runtime::in_process`), not over
    /// loopback TCP. Callers outside the process use the TCP endpoints either way.
    pub in_process: bool,
}

/// A file of the repository's `demo/` folder (tests and benches run on it).
pub fn demo_data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../demo").join(rel)
}

impl MeshSettings {
    /// One model for every role over the demo catalog and web corpus, default
    /// caps: the mesh the tests and benches start.
    pub fn demo(llm: EndpointConfig, records_dir: PathBuf, batch_concurrency: usize) -> Self {
        Self {
            user_agent_llm: llm.clone(),
            research_agent_llm: llm.clone(),
            supervisor_llm: llm,
            catalogs: vec![demo_data("catalog.jsonl")],
            web_corpus: Some(demo_data("web")),
            records_dir,
            caps: supervisor::Caps::default(),
            batch_concurrency,
            min_report_tool_calls: crate::run_config::DistillSettings::default().min_tool_calls,
            model_call_checks: true,
            keep_sent_back_reports: true,
            in_process: true,
        }
    }
}

/// How the tool gateway answers: live, or recording to / replaying from a
/// store of tool responses.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsSettings {
    /// `live`, `record` or `replay`.
    pub mode: tool_gateway::tools::store::ToolsMode,
    /// The store's folder (record and replay; default `<out>/tool-store`).
    pub store: Option<PathBuf>,
}

/// Addresses (`http://127.0.0.1:port`) of the running services.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// user-agent.
    pub user_agent: String,
    /// supervisor.
    pub supervisor: String,
    /// research-agent.
    pub research_agent: String,
    /// tool-gateway.
    pub tool_gateway: String,
    /// distiller.
    pub distiller: String,
}

type Task = (&'static str, &'static str, String, JoinHandle<Result<(), String>>);

/// Where a caller in this process reaches each service listening at
/// `endpoints`: in process (`in-process://`, same address) or over TCP.
fn local_endpoints(endpoints: &Endpoints, in_process: bool) -> Endpoints {
    if !in_process {
        return endpoints.clone();
    }
    let to = |url: &String| url.replacen("http://", productresearch_runtime::in_process::SCHEME, 1);
    Endpoints {
        user_agent: to(&endpoints.user_agent),
        supervisor: to(&endpoints.supervisor),
        research_agent: to(&endpoints.research_agent),
        tool_gateway: to(&endpoints.tool_gateway),
        distiller: to(&endpoints.distiller),
    }
}

/// A running mesh; [`LocalMesh::stop`] shuts every service down.
pub struct LocalMesh {
    /// Where each service listens (loopback TCP, for any caller).
    pub endpoints: Endpoints,
    /// The services call each other in process.
    in_process: bool,
    token: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<Result<(), String>>)>,
}

async fn bind() -> anyhow::Result<(TcpListener, String)> {
    let listener = productresearch_runtime::server::listen("127.0.0.1:0").await.context("cannot bind a loopback port")?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

fn spawn<E: std::fmt::Display>(fut: impl Future<Output = Result<(), E>> + Send + 'static) -> JoinHandle<Result<(), String>> {
    tokio::spawn(async move { fut.await.map_err(|e| e.to_string()) })
}

/// The distiller's own models: reflections written by a model, and the RACE
/// judge; `None` leaves the rule-based reflections and no judge.
#[derive(Debug, Clone, Default)]
pub struct DistillerModels {
    /// Writes each rejection's lesson as the agent's own forethought.
    pub reflection: Option<EndpointConfig>,
    /// Scores reports for the `Judge` RPC.
    pub judge: Option<EndpointConfig>,
}

/// Prompt templates and intent shape for the whole mesh (docs/prompts.md).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromptSettings {
    /// Folder of prompt template overrides for every role.
    pub prompts_dir: Option<PathBuf>,
    /// The user agent also emits 2-3 follow-up turns (multi-turn intents).
    pub follow_ups: bool,
}

impl LocalMesh {
    /// Starts all five services and waits until each reports SERVING. A
    /// service that fails to start is reported by name with its error.
    pub async fn start(settings: MeshSettings) -> anyhow::Result<Self> {
        Self::start_with_tools(settings, ToolsSettings::default()).await
    }

    /// [`Self::start`] with the tool gateway recording or replaying its
    /// responses (`productresearch run --tools-mode`).
    pub async fn start_with_tools(settings: MeshSettings, tools: ToolsSettings) -> anyhow::Result<Self> {
        Self::start_with(settings, tools, PromptSettings::default()).await
    }

    /// [`Self::start_with_tools`] with prompt template overrides and the user
    /// agent's multi-turn mode (`prompts_dir`, `follow_ups` in the run config).
    pub async fn start_with(settings: MeshSettings, tools: ToolsSettings, prompts: PromptSettings) -> anyhow::Result<Self> {
        // As `run` by default: the research agent's model reflects, the
        // supervisor's judges.
        let models =
            DistillerModels { reflection: Some(settings.research_agent_llm.clone()), judge: Some(settings.supervisor_llm.clone()) };
        Self::start_with_models(settings, tools, prompts, models).await
    }

    /// [`Self::start_with`] with the distiller's reflection and judge models
    /// (`None`: rule-based reflections, no judge).
    pub async fn start_with_models(
        settings: MeshSettings,
        tools: ToolsSettings,
        prompts: PromptSettings,
        distiller_models: DistillerModels,
    ) -> anyhow::Result<Self> {
        let token = CancellationToken::new();
        let (ua_l, ua) = bind().await?;
        let (sup_l, sup) = bind().await?;
        let (ra_l, ra) = bind().await?;
        let (tg_l, tg) = bind().await?;
        let (di_l, di) = bind().await?;
        let endpoints = Endpoints { user_agent: ua, supervisor: sup, research_agent: ra, tool_gateway: tg, distiller: di };
        let e = &endpoints;
        // How one service of the mesh reaches another.
        let local = local_endpoints(&endpoints, settings.in_process);
        let stop = |t: &CancellationToken| {
            let t = t.clone();
            async move { t.cancelled().await }
        };

        let gateway = tool_gateway::Config {
            catalogs: settings.catalogs.clone(),
            web_corpus: settings.web_corpus.clone(),
            tools_mode: tools.mode,
            tool_store: tools.store.clone(),
            ..Default::default()
        };
        let user_agent = user_agent::Config {
            llm: settings.user_agent_llm.clone(),
            prompts_dir: prompts.prompts_dir.clone(),
            follow_ups: prompts.follow_ups,
            ..Default::default()
        };
        let research_agent = research_agent::Config {
            llm: settings.research_agent_llm.clone(),
            tool_gateway: ClientConfig::single(&local.tool_gateway),
            max_tool_calls: settings.caps.max_tool_calls,
            keep_sent_back_reports: settings.keep_sent_back_reports,
            prompts_dir: prompts.prompts_dir.clone(),
            ..Default::default()
        };
        let supervisor = supervisor::Config {
            llm: settings.supervisor_llm.clone(),
            user_agent: ClientConfig::single(&local.user_agent),
            research_agent: ClientConfig::single(&local.research_agent),
            tool_gateway: ClientConfig::single(&local.tool_gateway),
            caps: settings.caps,
            min_report_tool_calls: settings.min_report_tool_calls,
            model_call_checks: settings.model_call_checks,
            records_dir: settings.records_dir.clone(),
            batch_concurrency: settings.batch_concurrency,
            // The local mesh has one caller, the run: its concurrency is the bound.
            max_in_flight: settings.batch_concurrency,
            prompts_dir: prompts.prompts_dir.clone(),
            ..Default::default()
        };
        let tasks: Vec<Task> = vec![
            (tool_gateway::NAME, tool_gateway::SERVICE_NAME, e.tool_gateway.clone(), spawn(tool_gateway::run(gateway, tg_l, stop(&token)))),
            (user_agent::NAME, user_agent::SERVICE_NAME, e.user_agent.clone(), spawn(user_agent::run(user_agent, ua_l, stop(&token)))),
            (
                research_agent::NAME,
                research_agent::SERVICE_NAME,
                e.research_agent.clone(),
                spawn(research_agent::run(research_agent, ra_l, stop(&token))),
            ),
            (
                distiller::NAME,
                distiller::SERVICE_NAME,
                e.distiller.clone(),
                spawn(distiller::run(
                    distiller::Config {
                        prompts_dir: prompts.prompts_dir.clone(),
                        reflection: distiller_models.reflection,
                        judge: distiller_models.judge,
                        ..Default::default()
                    },
                    di_l,
                    stop(&token),
                )),
            ),
            (supervisor::NAME, supervisor::SERVICE_NAME, e.supervisor.clone(), spawn(supervisor::run(supervisor, sup_l, stop(&token)))),
        ];
        let mut running = Vec::new();
        let mut failure = None;
        for (name, service, url, mut handle) in tasks {
            if failure.is_none()
                && let Err(err) = wait_ready(name, service, &url, &mut handle).await
            {
                // The task has ended (or hangs): it is not awaited again.
                handle.abort();
                failure = Some(err);
                continue;
            }
            running.push((name, handle));
        }
        let mesh = Self { endpoints, in_process: settings.in_process, token, tasks: running };
        if let Some(err) = failure {
            mesh.stop().await.ok();
            return Err(err);
        }
        Ok(mesh)
    }

    /// Where a caller in this process (the run itself) reaches each service:
    /// in process when the services call each other so, else [`Self::endpoints`].
    pub fn local_endpoints(&self) -> Endpoints {
        local_endpoints(&self.endpoints, self.in_process)
    }

    /// Stops every service (in-flight calls drain) and reports the first one
    /// that had failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.token.cancel();
        let mut first_error = None;
        for (name, mut handle) in self.tasks {
            // A graceful stop waits for streams in flight, and a research
            // session may be inside a model call of minutes (an interrupted
            // run). Past the grace the service is aborted: every recorded
            // event is already on disk, and the next run resumes the rest.
            let joined = match tokio::time::timeout(STOP_GRACE, &mut handle).await {
                Ok(joined) => joined,
                Err(_) => {
                    handle.abort();
                    eprintln!(
                        "{name}: still busy {}s after the stop; aborted (its trajectories resume on the next run)",
                        STOP_GRACE.as_secs()
                    );
                    continue;
                }
            };
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_error = first_error.or(Some(anyhow!("{name}: {e}"))),
                Err(e) => first_error = first_error.or(Some(anyhow!("{name}: task failed: {e}"))),
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// How long a stopping service may finish what it is doing.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits until `service` at `url` reports SERVING, or its task ends (then its
/// error is the answer).
async fn wait_ready(name: &str, service: &str, url: &str, handle: &mut JoinHandle<Result<(), String>>) -> anyhow::Result<()> {
    let probe = async {
        loop {
            if let Ok(channel) = tonic::transport::Endpoint::from_shared(url.to_string()).expect("loopback url").connect().await {
                let mut client = HealthClient::new(channel);
                let status = client.check(HealthCheckRequest { service: service.to_string() }).await;
                if status.is_ok_and(|s| s.into_inner().status == ServingStatus::Serving as i32) {
                    return;
                }
            }
            tokio::time::sleep(READY_PROBE).await;
        }
    };
    tokio::select! {
        _ = probe => Ok(()),
        ended = &mut *handle => Err(match ended {
            Ok(Err(e)) => anyhow!("{name} failed to start: {e}"),
            Ok(Ok(())) => anyhow!("{name} stopped before it was ready"),
            Err(e) => anyhow!("{name} failed to start: {e}"),
        }),
        _ = tokio::time::sleep(READY_TIMEOUT) => Err(anyhow!("{name} at {url} was not ready within {READY_TIMEOUT:?}")),
    }
}
