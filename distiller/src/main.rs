//! `distiller` binary: everything but the name is shared start-up (see runtime::boot).

use clap::Parser;

#[derive(Parser)]
#[command(name = "distiller", version, about = "Turns supervised trajectories into single-role SFT examples (gRPC)")]
struct Cli {
    #[command(flatten)]
    flags: productresearch_runtime::boot::ServiceFlags,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    productresearch_runtime::boot::exit_code(
        productresearch_runtime::boot::serve_main(
            "distiller",
            distiller::ENV_PREFIX,
            "127.0.0.1:50055",
            cli.flags,
            productresearch_runtime::boot::NoOverrides {},
            distiller::run,
        )
        .await,
    )
}
