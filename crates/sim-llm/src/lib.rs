//! A simulated OpenAI-compatible chat-completions server: a test instrument for the
//! ProductResearch mesh, never a production dependency.
//!
//! Each agent role (user agent, research agent, supervisor) is answered deterministically
//! from the request alone, on the real HTTP/JSON wire format, with configurable latency and
//! injectable faults, so tests and benchmarks exercise the real clients end to end.

mod completion;
mod config;
mod conversation;
mod error;
mod fault;
mod roles;
mod server;
mod text_form;
mod usage;
mod wire;

pub use config::{FaultKind, FaultRule, RateLimit, SimConfig, TextToolStyle, Trigger};
pub use error::ConfigError;
pub use server::{Answers, SimHandle, listen, spawn, spawn_local};
