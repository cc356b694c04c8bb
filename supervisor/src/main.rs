//! `supervisor` binary: everything but the name is shared start-up (see runtime::boot).

productresearch_runtime::service_main!(
    supervisor::NAME,
    "Supervises and records research trajectories (gRPC)",
    supervisor::ENV_PREFIX,
    "127.0.0.1:50052",
    supervisor::run
);
