//! `productresearch`: the user's entry point to the mesh.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use productresearch::local_mesh::{self, DistillerModels, LocalMesh, MeshSettings};
use productresearch::model_endpoint::EmbeddedModel;
use productresearch::run_config::{MODEL_ROLES, RunConfig};
use productresearch::running_distill::RunningDistill;
use productresearch::{histories, pipeline};
use productresearch_llm::EndpointConfig;
use serde::Serialize;

#[derive(Parser)]
#[command(name = productresearch::NAME, version, about = "Synthesizes supervised shopping-research trajectories and SFT data")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the five services on loopback, synthesize a batch and distill it.
    Run(RunArgs),
    /// Build a catalog index from catalog files (see docs/catalogs.md).
    Catalog(productresearch::catalog::CatalogArgs),
    /// Analyse the traces of a run (see docs/telemetry.md).
    Trace(productresearch::trace_report::TraceArgs),
    /// Import behaviour histories; measure intent fidelity (see docs/histories.md).
    Users(productresearch::users::UsersArgs),
    /// List or export the prompt templates (see docs/prompts.md).
    Prompts(productresearch::prompts::PromptsArgs),
    /// Distill trajectories (JSONL) into SFT files: filters, formats, token buckets, statistics.
    Distill(productresearch::distill::DistillArgs),
    /// Judge every round's report of a run against its final report (RACE curve, E.Prod).
    Eval(productresearch::eval::EvalArgs),
}

#[derive(clap::Args, Serialize)]
struct RunArgs {
    /// Config file (default: ./productresearch.toml when present).
    #[arg(long)]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Behaviour histories (JSONL, one user per line).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    histories: Option<PathBuf>,
    /// Catalog file (JSONL); repeat for several.
    #[arg(long = "catalog")]
    #[serde(rename = "catalogs", skip_serializing_if = "Vec::is_empty")]
    catalogs: Vec<PathBuf>,
    /// Local web corpus folder (with index.jsonl).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    web_corpus: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    out: Option<PathBuf>,
    /// Trajectories in flight at once.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    concurrency: Option<usize>,
    /// Use the built-in simulated model for every role instead of the local
    /// model or the configured endpoints. It is a deterministic
    /// test instrument: the run exercises the pipeline, the data is not worth
    /// training on.
    #[arg(long)]
    #[serde(skip)]
    simulated_llm: bool,
    /// Take only shard INDEX of COUNT of the histories (every COUNT-th from
    /// INDEX), as each pod of a Kubernetes Indexed Job does.
    #[arg(long, value_name = "INDEX/COUNT")]
    #[serde(skip)]
    shard: Option<productresearch::shard::Shard>,
    /// Print the effective configuration and exit.
    #[arg(long)]
    #[serde(skip)]
    print_config: bool,
    /// Tool responses: live (default), record (every response stored in the
    /// tool store) or replay (answered only from the tool store, no backend).
    #[arg(long)]
    #[serde(skip)]
    tools_mode: Option<tool_gateway::tools::store::ToolsMode>,
    /// Folder of recorded tool responses (default: <out>/tool-store).
    #[arg(long)]
    #[serde(skip)]
    tool_store: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    productresearch_runtime::boot::exit_code(runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Catalog(args) => productresearch::catalog::run(args),
            Command::Trace(args) => productresearch::trace_report::command(args).await,
            Command::Users(args) => productresearch::users::run(args).await,
            Command::Prompts(args) => productresearch::prompts::run(args),
            Command::Distill(args) => productresearch::distill::run(args).await,
            Command::Eval(args) => productresearch::eval::run(args).await,
        }
    }))
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let file = args.config.clone().or_else(|| Some(PathBuf::from("productresearch.toml")).filter(|p| p.exists()));
    let mut config: RunConfig = productresearch::run_config::load(file.as_deref(), &args)?;
    if args.simulated_llm {
        config.roles.clear();
    }
    config.tools.mode = args.tools_mode.unwrap_or(config.tools.mode);
    config.tools.store = args.tool_store.clone().or(config.tools.store.take());
    if config.tools.mode != tool_gateway::tools::store::ToolsMode::Live && config.tools.store.is_none() {
        config.tools.store = Some(config.out.join("tool-store"));
    }
    if args.print_config {
        print!("{}", productresearch_runtime::config::render(&config));
        return Ok(());
    }
    config.validate().map_err(|e| anyhow::anyhow!(e))?;
    // Offline default: the run's traces and metrics as OTLP JSON lines next to its output.
    config.telemetry.traces_file.get_or_insert_with(|| config.out.join("traces.jsonl"));
    let _telemetry = productresearch_runtime::telemetry::init_services(productresearch::NAME, local_mesh::SERVICES, &config.telemetry);

    let (histories, rejected) = histories::read(&config.histories).map_err(|e| anyhow::anyhow!(e))?;
    for r in &rejected {
        eprintln!("skipped {}:{}: {}", config.histories.display(), r.line, r.reason);
    }
    if histories.is_empty() {
        anyhow::bail!("no usable history in {}", config.histories.display());
    }
    let histories = productresearch::shard::select(args.shard, histories);

    let started = Instant::now();
    let models = ModelBackend::start(&args, &mut config).await?;
    config.caps = run_caps(&config, models.local.is_some());
    let outcome = async {
        let settings = MeshSettings {
            user_agent_llm: config.endpoint("user-agent", models.local.as_ref()).map_err(|e| anyhow::anyhow!(e))?,
            research_agent_llm: config.endpoint("research-agent", models.local.as_ref()).map_err(|e| anyhow::anyhow!(e))?,
            supervisor_llm: config.endpoint("supervisor", models.local.as_ref()).map_err(|e| anyhow::anyhow!(e))?,
            catalogs: config.catalogs.clone(),
            web_corpus: config.web_corpus.clone(),
            records_dir: config.out.join("records"),
            caps: config.caps,
            batch_concurrency: config.concurrency,
            min_report_tool_calls: config.distill.min_tool_calls,
            model_call_checks: model_call_checks(&config, models.local.is_some()),
            keep_sent_back_reports: keep_sent_back_reports(&config, models.local.is_some()),
            in_process: true,
        };
        for (role, e) in MODEL_ROLES.iter().zip([&settings.user_agent_llm, &settings.research_agent_llm, &settings.supervisor_llm]) {
            eprintln!("{role:>14}: model {} at {} (tool mode {:?})", e.model, e.base_url, e.tool_mode);
        }
        // The distiller reflects and judges with the run's own role models.
        let role_model = |role: &str| {
            (!role.is_empty()).then(|| config.endpoint(role, models.local.as_ref()).map_err(|e| anyhow::anyhow!(e))).transpose()
        };
        let distiller_models = DistillerModels { reflection: role_model(&config.distill.reflection_role)?, judge: role_model(&config.distill.judge_role)? };
        let mesh = LocalMesh::start_with_models(settings, config.tools.clone(), config.prompts.clone(), distiller_models).await?;
        eprintln!("mesh up on loopback in {:.1}s: supervisor {}", started.elapsed().as_secs_f64(), mesh.endpoints.supervisor);
        // Ctrl-C or SIGTERM stops the batch; what finished is already in trajectories.jsonl.
        let result = tokio::select! {
            r = synthesize_and_distill(&mesh, &config, histories) => r,
            _ = productresearch_runtime::signal::shutdown() => Err(anyhow::anyhow!("interrupted; finished trajectories are in {}", config.out.join(pipeline::TRAJECTORIES_FILE).display())),
        };
        let stopped = mesh.stop().await;
        result.and(stopped)
    }
    .await;
    models.stop().await;
    outcome?;
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The run's caps: on the embedded model, the research agent's tool calls
/// and report rounds are also bounded by `local_model.max_tool_calls` and
/// `max_report_rounds` (said on stderr when one binds).
fn run_caps(config: &RunConfig, local_running: bool) -> supervisor::Caps {
    let mut caps = config.caps;
    if !(local_running && config.uses_local_model("research-agent")) {
        return caps;
    }
    let local = &config.local_model;
    for (name, bound, cap, what) in [
        ("max_tool_calls", local.max_tool_calls, &mut caps.max_tool_calls, "tool calls a turn"),
        ("max_report_rounds", local.max_report_rounds, &mut caps.max_report_rounds, "report rounds"),
    ] {
        if bound > 0 && bound < *cap {
            eprintln!("research-agent: {bound} {what} on the local model (local_model.{name}; caps.{name} is {cap})");
            *cap = bound;
        }
    }
    caps
}

/// Whether the supervisor's model judges tool calls: not on the embedded
/// model unless `local_model.model_call_checks` (said on stderr).
fn model_call_checks(config: &RunConfig, local_running: bool) -> bool {
    if local_running && config.uses_local_model("supervisor") && !config.local_model.model_call_checks {
        eprintln!("    supervisor: tool calls judged by the deterministic checks alone on the local model (local_model.model_call_checks)");
        return false;
    }
    true
}

/// Whether the research agent keeps a sent-back report in its context: not
/// on the embedded model unless `local_model.keep_sent_back_reports` (said
/// on stderr).
fn keep_sent_back_reports(config: &RunConfig, local_running: bool) -> bool {
    if local_running && config.uses_local_model("research-agent") && !config.local_model.keep_sent_back_reports {
        eprintln!(
            "research-agent: a sent-back report is written anew, not from its draft, on the local model (local_model.keep_sent_back_reports)"
        );
        return false;
    }
    true
}

/// The model servers this run started: the simulated model (only when asked
/// for) or the embedded local model (for roles without an endpoint).
struct ModelBackend {
    sim: Option<productresearch_sim_llm::SimHandle>,
    local_server: Option<EmbeddedModel>,
    local: Option<EndpointConfig>,
}

impl ModelBackend {
    async fn start(args: &RunArgs, config: &mut RunConfig) -> anyhow::Result<Self> {
        if args.simulated_llm {
            let sim = productresearch_sim_llm::spawn_local(productresearch_sim_llm::SimConfig::default())
                .await
                .context("cannot start the simulated model")?;
            eprintln!(
                "NOTE: every role uses the SIMULATED model (--simulated-llm), a deterministic test instrument; the output exercises the pipeline and is not training data."
            );
            // Calls in flight as configured (by default: the run's concurrency).
            config.llm = EndpointConfig { max_concurrency: config.llm.max_concurrency, ..EndpointConfig::new(sim.base_url(), "sim-model") };
            return Ok(Self { sim: Some(sim), local_server: None, local: None });
        }
        if !MODEL_ROLES.iter().any(|r| config.uses_local_model(r)) {
            return Ok(Self { sim: None, local_server: None, local: None });
        }
        let embedded = EmbeddedModel::start(&config.local_model).await?;
        let local = embedded.endpoint.clone();
        Ok(Self { sim: None, local_server: Some(embedded), local: Some(local) })
    }

    async fn stop(self) {
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
        if let Some(server) = self.local_server {
            server.stop().await;
        }
    }
}

/// A line above the progress bar (on stderr when the bar is hidden: stderr
/// not a terminal, where the bar would swallow it).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

async fn synthesize_and_distill(
    mesh: &LocalMesh,
    config: &RunConfig,
    histories: Vec<productresearch_record::UserHistory>,
) -> anyhow::Result<()> {
    let bar = ProgressBar::new(histories.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} trajectories · {prefix}  {msg}  eta {eta}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    // Trajectories take minutes on a small model: show the checked steps as they are recorded.
    let steps = productresearch::step_watch::watch_steps(bar.clone(), config.out.join("records"));
    let local = mesh.local_endpoints();
    let to = pipeline::DistillTo {
        distiller_url: local.distiller.clone(),
        gateway_url: local.tool_gateway.clone(),
        min_assistant_turns: config.distill.min_assistant_turns,
        min_tool_calls: config.distill.min_tool_calls,
        out: config.out.clone(),
        tool_snapshot: config.tool_snapshot(),
    };
    let running = RunningDistill::start(to.clone(), {
        let bar = bar.clone();
        move |d: &pipeline::DistillOutcome| {
            let examples = if d.examples == 1 { "1 SFT example".to_string() } else { format!("{} SFT examples", d.examples) };
            say(&bar, format!("{examples} so far -> {}", d.sft_path.display()))
        }
    });
    let batch = pipeline::synthesize(
        &local.supervisor,
        histories,
        config.caps,
        config.concurrency,
        &config.out,
        |p| {
            bar.set_position(p.done as u64);
            let tokens = p.usage.map(|u| u.prompt_tokens + u.completion_tokens).unwrap_or(0);
            bar.set_message(format!("running {} · failed {} · {} SFT examples · {tokens} tokens", p.running, p.failed, running.examples()));
        },
        |t| {
            let end = t.termination().map(|e| format!("{:?}: {}", e.reason, e.detail)).unwrap_or_default();
            running.finished(t);
            say(&bar, format!("{} user {}: {end}", t.trajectory_id, t.user_id));
        },
    )
    .await;
    steps.abort();
    bar.finish_and_clear();
    running.wait().await;
    let batch = batch?;
    for (user, reason) in &batch.failures {
        eprintln!("not started: user {user}: {reason}");
    }
    let approved = batch.trajectories.iter().filter(|t| t.approved()).count();
    eprintln!(
        "{} trajectories ({approved} approved) -> {}",
        batch.trajectories.len(),
        config.out.join(pipeline::TRAJECTORIES_FILE).display()
    );
    let distilled = to.distill(&batch.trajectories).await?;
    for (id, filter, reason) in &distilled.drops {
        eprintln!("dropped {id} by filter {filter}: {reason}");
    }
    let summary = productresearch::run_summary::RunSummary::new(&batch.trajectories, &distilled);
    eprint!("{}", summary.render(&distilled.sft_path));
    Ok(())
}
