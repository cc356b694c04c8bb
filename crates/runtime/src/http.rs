//! HTTP clients (reqwest): model endpoints, web pages, search providers,
//! trace backends.
//!
//! reqwest is built with `rustls-no-provider` so that it shares ring with
//! tonic's `tls-ring`; building a client without a process-wide provider
//! panics. [`client_builder`] installs it first, so no caller has to.

/// A reqwest client builder with the process's crypto provider installed.
pub fn client_builder() -> reqwest::ClientBuilder {
    crate::install_crypto_provider();
    reqwest::Client::builder()
}

/// An error and its causes on one line: an HTTP client's own message
/// ("error sending request", "client error (Connect)") says nothing without
/// them.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
