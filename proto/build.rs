//! Compiles every .proto under this folder with protox (pure Rust), so no system
//! protoc is needed, and writes a file descriptor set for gRPC reflection.

use std::path::PathBuf;

const FILES: &[&str] = &[
    "productresearch/common/v1/common.proto",
    "productresearch/user_agent/v1/user_agent.proto",
    "productresearch/research_agent/v1/research_agent.proto",
    "productresearch/tool_gateway/v1/tool_gateway.proto",
    "productresearch/supervisor/v1/supervisor.proto",
    "productresearch/distiller/v1/distiller.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=productresearch");
    let fds = protox::compile(FILES, ["."])?;
    std::fs::write(out.join("descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().build_server(true).build_client(true).compile_fds(fds)?;
    Ok(())
}
