//! The runtime every service of the mesh shares.
//!
//! - [`config`]: typed, layered configuration (defaults → file → env → flags).
//! - [`telemetry`]: tracing subscriber with an OpenTelemetry layer, so every span has
//!   a W3C trace context that can cross process boundaries.
//! - [`server`]: the one gRPC server stack (health, reflection, tower layers).
//! - [`client`]: gRPC channels that carry trace context and the caller's deadline.
//! - [`in_process`]: calls between services of one process without sockets.
//! - [`context`]: the request context (deadline, span) and how it follows spawned work.
//! - [`http`]: HTTP clients with the crypto provider in place.
//! - [`checkout`]: where defaults that live in the clone (demo data, the embedded model) are found.
//! - [`tls`], [`auth`], [`limits`]: mutual TLS, bearer tokens for external
//!   callers, message size limits — all off (or generous) by default.

pub mod auth;
pub mod boot;
pub mod checkout;
pub mod client;
pub mod config;
pub mod context;
pub mod discovery;
pub mod failure;
pub mod http;
pub mod in_process;
pub mod limits;
pub mod server;
pub mod signal;
pub mod telemetry;
pub mod tls;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Installs the process-wide rustls crypto provider (ring), shared by tonic and
/// reqwest, once. The boot path calls it, and so does every builder of this
/// crate that may need it ([`http::client_builder`], the TLS configs), so a
/// test or an in-process mesh never has to.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err: the embedding program installed one of its own first; keep it.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A boxed shutdown future, as binaries pass to a service's `run`.
pub type ShutdownSignal = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
