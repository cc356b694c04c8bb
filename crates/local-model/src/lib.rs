//! The embedded default model (README.md, "What to expect from the embedded model"): a
//! small local model served on loopback.
//!
//! `scripts/setup-model.sh` installs llama.cpp's server (the pinned `xllamacpp` wheel, in
//! `.models/venv`) and a verified Qwen2.5-Coder-0.5B-Instruct GGUF, once, from PyPI only.
//! This crate finds that setup ([`LocalModel::locate`]) and supervises
//! `scripts/serve_model.py` as a child process ([`LocalModel::start`]), which serves an
//! OpenAI-compatible API at [`LocalModel::base_url`] for any chat-completions client.
//!
//! ```no_run
//! # async fn demo() -> Result<(), productresearch_local_model::LocalModelError> {
//! use productresearch_local_model::{LocalModel, LocalModelConfig};
//! let config = LocalModelConfig::default();
//! let located = LocalModel::locate(&config)?; // NotSetUp names the fix
//! let model = LocalModel::start(located, &config).await?;
//! println!("{} serves {}", model.base_url(), model.model());
//! model.stop().await?;
//! # Ok(()) }
//! ```

mod config;
mod error;
mod server;
mod setup;

pub use config::{LocalModelConfig, MODELS_DIR_ENV};
pub use error::LocalModelError;
pub use server::LocalModel;
pub use setup::{LOG_FILE, LocatedModel, READY_FILE};
