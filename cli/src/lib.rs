//! The `productresearch` command line as a library, so tests drive exactly what
//! users run.
//!
//! - [`local_mesh`]: start the five services on loopback ports (each its own
//!   gRPC server) and wait until every one reports SERVING.
//! - [`run_config`]: the `run` command's layered configuration, with one model
//!   endpoint per role.
//! - [`histories`]: reading behaviour histories (JSONL), bad lines reported.
//! - [`pipeline`]: a batch through the supervisor, then the distiller, into files.
//! - [`running_distill`]: the SFT file rewritten as approved trajectories come in.
//! - [`distill`]: `productresearch distill`, trajectories on disk to SFT files in process.
//! - [`eval`]: `productresearch eval`, the per-round RACE curve of a run and E.Prod.
//! - [`model_endpoint`]: the model a command talks to, the embedded one included.
//! - [`run_summary`]: what a run tells the user at its end (yield, drops, advice).
//! - [`step_watch`]: the live count of checked steps while a run goes on.

/// The command's name: its binary and the resource `service.name` of its own
/// spans (the services' spans carry theirs, see [`local_mesh::SERVICES`]).
pub const NAME: &str = "productresearch";

/// Prefix of the environment variables that override the run config (`PR_…`).
pub use run_config::ENV_PREFIX;

pub mod catalog;
pub mod distill;
pub mod eval;
pub mod histories;
pub mod local_mesh;
pub mod model_endpoint;
pub mod pipeline;
pub mod prompts;
pub mod run_config;
pub mod run_summary;
pub mod running_distill;
pub mod shard;
pub mod step_watch;
pub mod trace_backend;
pub mod trace_report;
pub mod trace_span;
pub mod users;
