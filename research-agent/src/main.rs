//! `research-agent` binary: everything but the name is shared start-up (see runtime::boot).

use clap::Parser;

#[derive(Parser)]
#[command(name = "research-agent", version, about = "Researches shopping queries step by step under supervision (gRPC)")]
struct Cli {
    #[command(flatten)]
    flags: productresearch_runtime::boot::ServiceFlags,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    productresearch_runtime::boot::exit_code(
        productresearch_runtime::boot::serve_main(
            "research-agent",
            "RESEARCH_AGENT",
            "127.0.0.1:50053",
            cli.flags,
            productresearch_runtime::boot::NoOverrides {},
            research_agent::run,
        )
        .await,
    )
}
