//! `tool-gateway`: serves the research agent's tools over gRPC.

use std::path::PathBuf;

use clap::Parser;
use serde::Serialize;

#[derive(Parser)]
#[command(name = tool_gateway::NAME, version, about = "Serves the research agent's four tools over gRPC")]
struct Cli {
    #[command(flatten)]
    flags: productresearch_runtime::boot::ServiceFlags,
    /// Catalog JSONL file; repeat for several. Replaces the configured catalogs.
    #[arg(long = "catalog")]
    catalogs: Vec<PathBuf>,
    /// Web corpus folder (with index.jsonl).
    #[arg(long)]
    web_corpus: Option<PathBuf>,
}

/// The config fields the flags set; unset flags leave the layers below alone.
#[derive(Serialize)]
struct Overrides {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    catalogs: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    web_corpus: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides { catalogs: cli.catalogs, web_corpus: cli.web_corpus };
    productresearch_runtime::boot::exit_code(
        productresearch_runtime::boot::serve_main(
            tool_gateway::NAME,
            tool_gateway::ENV_PREFIX,
            "127.0.0.1:50054",
            cli.flags,
            overrides,
            tool_gateway::run,
        )
        .await,
    )
}
