//! `sim-llm`: runs the simulated model server until Ctrl-C or SIGTERM.
//! Settings layer: defaults → `--config` TOML file → environment → flags.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use productresearch_sim_llm::SimConfig;

#[derive(Debug, Parser)]
#[command(name = "sim-llm", version, about = "Simulated OpenAI-compatible model server (test instrument)")]
struct Args {
    /// Address to serve on; loopback by default so it is never exposed by accident.
    #[arg(long, env = "SIM_LLM_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// TOML file with `SimConfig` keys.
    #[arg(long, env = "SIM_LLM_CONFIG")]
    config: Option<PathBuf>,
    /// Fixed delay per chat completion, overriding the file.
    #[arg(long, env = "SIM_LLM_LATENCY_MS")]
    latency_ms: Option<u64>,
    /// Print the effective config as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        // stdout carries only the listening line, which scripts parse.
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read sim-llm config {}", path.display()))?;
            SimConfig::from_toml_str(&text)?
        }
        None => SimConfig::default(),
    };
    if let Some(latency_ms) = args.latency_ms {
        config.latency_ms = latency_ms;
    }
    config.validate()?;
    if args.print_config {
        print!("{}", toml::to_string(&config).context("cannot print sim-llm config")?);
        return Ok(());
    }

    let listener = productresearch_sim_llm::listen(args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
    let handle = productresearch_sim_llm::spawn(config, listener).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "sim-llm listening on {}", handle.base_url())?;
    stdout.flush()?;
    drop(stdout);

    stopped().await?;
    handle.shutdown().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes and CI send).
async fn stopped() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
