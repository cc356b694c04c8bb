//! `user-agent` binary: everything but the name is shared start-up (see runtime::boot).

use clap::Parser;

#[derive(Parser)]
#[command(name = "user-agent", version, about = "Infers shopping intents from behaviour histories (gRPC)")]
struct Cli {
    #[command(flatten)]
    flags: productresearch_runtime::boot::ServiceFlags,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    productresearch_runtime::boot::exit_code(
        productresearch_runtime::boot::serve_main(
            "user-agent",
            "USER_AGENT",
            "127.0.0.1:50051",
            cli.flags,
            productresearch_runtime::boot::NoOverrides {},
            user_agent::run,
        )
        .await,
    )
}
