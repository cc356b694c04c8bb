//! `supervisor` binary: everything but the name is shared start-up (see runtime::boot).

use clap::Parser;

#[derive(Parser)]
#[command(name = "supervisor", version, about = "Supervises and records research trajectories (gRPC)")]
struct Cli {
    #[command(flatten)]
    flags: productresearch_runtime::boot::ServiceFlags,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    productresearch_runtime::boot::exit_code(
        productresearch_runtime::boot::serve_main(
            "supervisor",
            "SUPERVISOR",
            "127.0.0.1:50052",
            cli.flags,
            productresearch_runtime::boot::NoOverrides {},
            supervisor::run,
        )
        .await,
    )
}
