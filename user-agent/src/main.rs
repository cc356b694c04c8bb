//! `user-agent` binary: everything but the name is shared start-up (see runtime::boot).

productresearch_runtime::service_main!(
    user_agent::NAME,
    "Infers shopping intents from behaviour histories (gRPC)",
    user_agent::ENV_PREFIX,
    "127.0.0.1:50051",
    user_agent::run
);
