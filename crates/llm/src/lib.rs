//! Client for any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM,
//! SGLang, Ollama, llama.cpp server, hosted APIs).
//!
//! - [`EndpointConfig`]: per-role endpoint, model, sampling, timeouts, retries.
//! - [`LlmClient::chat`]: messages + tools (+ optional JSON-schema output) in,
//!   content / tool calls + token usage out.
//! - Retries with full-jitter exponential backoff on transient failures only,
//!   honouring `Retry-After` on 429/503.
//! - Adaptive concurrency per endpoint (AIMD on 429/503, timeouts and slow
//!   answers, up to `max_concurrency`), and a circuit breaker that stops
//!   calling an endpoint that refuses every call (wrong key, wrong model).
//! - [`completeness::is_cut_off`]: whether a text answer was cut off or
//!   garbled; such an answer is asked for again, never passed on as a report.
//! - An error is always an [`LlmError`]; it is never turned into model content.

mod act;
mod backoff;
mod breaker;
mod client;
pub mod completeness;
mod config;
mod context_window;
mod error;
mod json_output;
mod limiter;
mod message;
mod reask;
pub mod report_end;
mod text_tools;
mod transport;
mod validators;
mod wire;
mod wording;

pub use act::{Acted, Action};
pub use client::LlmClient;
pub use config::{EndpointConfig, ToolMode};
pub use error::LlmError;
pub use json_output::extract_json;
pub use message::{ChatRequest, ChatResponse, JsonSchema, Message, Role, ToolChoice};
pub use validators::Validators;
