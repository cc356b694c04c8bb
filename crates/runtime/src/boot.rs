//! The start-up every service binary shares: flags, layered config, telemetry,
//! bind, serve until a shutdown signal. A service's `main.rs` only names itself.

use std::future::Future;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::server::ServerConfig;
use crate::telemetry::TelemetryConfig;

/// Flags every service binary takes.
#[derive(Debug, clap::Args)]
pub struct ServiceFlags {
    /// TOML config file (environment variables and flags override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on (default: the service's own port on 127.0.0.1).
    #[arg(long)]
    pub listen: Option<String>,
    /// Print the effective configuration and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// Overrides of a binary whose flags set no config field.
#[derive(Debug, Serialize)]
pub struct NoOverrides {}

/// The settings every service has. A service's config embeds it with
/// `#[serde(flatten)]`, so its keys stay where they were (`[server]`,
/// `[telemetry]`, env `<PREFIX>_SERVER__…`) and the service config's
/// `deny_unknown_fields` still rejects a misspelt one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceCommon {
    /// gRPC server limits, TLS and caller authentication.
    pub server: ServerConfig,
    /// Logging, tracing and metrics.
    pub telemetry: TelemetryConfig,
}

/// What boot needs to know of a service's config.
pub trait ServiceConfig: DeserializeOwned + Serialize + Default {
    /// Its shared settings.
    fn common(&self) -> &ServiceCommon;
}

/// Loads the config (env prefix `env_prefix`, then the fields `overrides` sets), starts telemetry as `name`,
/// binds and runs `run` until Ctrl-C or SIGTERM.
pub async fn serve_main<C, E, Fut>(
    name: &'static str,
    env_prefix: &str,
    default_listen: &str,
    flags: ServiceFlags,
    overrides: impl Serialize,
    run: impl FnOnce(C, TcpListener, crate::ShutdownSignal) -> Fut,
) -> anyhow::Result<()>
where
    C: ServiceConfig,
    E: std::error::Error + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>>,
{
    let config: C = crate::config::load(flags.config.as_deref(), env_prefix, overrides)?;
    if flags.print_config {
        print!("{}", crate::config::render(&config));
        return Ok(());
    }
    crate::install_crypto_provider();
    let _telemetry = crate::telemetry::init(name, &config.common().telemetry);
    let listen = flags.listen.as_deref().unwrap_or(default_listen);
    let listener = crate::server::listen(listen).await.map_err(|e| anyhow::anyhow!("{name}: cannot listen on {listen}: {e}"))?;
    run(config, listener, Box::pin(crate::signal::shutdown())).await.map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// Turns a binary's result into its exit code, printing an error as one line
/// (the cause chain, no backtrace) on stderr.
pub fn exit_code(result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The whole `main.rs` of a service: a clap command named `$name` (the
/// crate's `NAME`) with the shared [`ServiceFlags`], serving `$run` with
/// config from `$env_prefix` (the crate's `ENV_PREFIX`) on `$listen` by default.
#[macro_export]
macro_rules! service_main {
    ($name:expr, $about:literal, $env_prefix:expr, $listen:literal, $run:path) => {
        #[derive(::clap::Parser)]
        #[command(name = $name, version, about = $about)]
        struct Cli {
            #[command(flatten)]
            flags: $crate::boot::ServiceFlags,
        }

        #[tokio::main]
        async fn main() -> ::std::process::ExitCode {
            let cli = <Cli as ::clap::Parser>::parse();
            $crate::boot::exit_code(
                $crate::boot::serve_main($name, $env_prefix, $listen, cli.flags, $crate::boot::NoOverrides {}, $run).await,
            )
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service config as the five write theirs.
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        limit: u32,
        #[serde(flatten)]
        common: ServiceCommon,
    }

    fn load(toml: &str, prefix: &str) -> Result<Sample, crate::config::ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).unwrap();
        crate::config::load(Some(&path), prefix, NoOverrides {})
    }

    #[test]
    fn shared_settings_keep_their_keys() {
        // SAFETY: a name only this test uses; no other thread reads it.
        unsafe { std::env::set_var("PR_TEST_BOOT_A_TELEMETRY__LOG_FILTER", "warn") };
        let c = load("limit = 2\n[server]\nmax_message_bytes = 1234\n", "PR_TEST_BOOT_A").unwrap();
        assert_eq!((c.limit, c.common.server.max_message_bytes), (2, 1234));
        assert_eq!(c.common.telemetry.log_filter, "warn");
        let printed = crate::config::render(&c);
        assert!(printed.starts_with("limit = 2\n") && printed.contains("\n[server]\n") && printed.contains("\n[telemetry]\n"), "{printed}");
        assert!(!printed.contains("common"), "{printed}");
    }

    #[test]
    fn a_misspelt_key_is_still_rejected() {
        for toml in ["limt = 2\n", "[server]\nmax_mesage_bytes = 1\n", "[telemetri]\nlog_filter = \"x\"\n"] {
            let err = load(toml, "PR_TEST_BOOT_B").unwrap_err().to_string();
            let key = toml.trim_start_matches('[').split([' ', ']', '\n']).next().unwrap();
            assert!(err.contains(key) || err.contains("max_mesage_bytes"), "{toml:?}: {err}");
        }
    }
}
