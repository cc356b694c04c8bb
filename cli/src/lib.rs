//! The `productresearch` command line as a library, so tests drive exactly what
//! users run.
//!
//! - [`local_mesh`]: start the five services on loopback ports (each its own
//!   gRPC server) and wait until every one reports SERVING.
//! - [`run_config`]: the `run` command's layered configuration, with one model
//!   endpoint per role.
//! - [`histories`]: reading behaviour histories (JSONL), bad lines reported.
//! - [`pipeline`]: a batch through the supervisor, then the distiller, into files.

pub mod histories;
pub mod local_mesh;
pub mod pipeline;
pub mod run_config;
