//! `distiller` binary: everything but the name is shared start-up (see runtime::boot).

productresearch_runtime::service_main!(
    distiller::NAME,
    "Turns supervised trajectories into single-role SFT examples (gRPC)",
    distiller::ENV_PREFIX,
    "127.0.0.1:50055",
    distiller::run
);
