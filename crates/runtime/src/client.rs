//! gRPC client channels for calls between services.
//!
//! Every channel made here runs [`ContextInterceptor`]: it writes the current
//! span's W3C `traceparent` and the caller's remaining deadline (`grpc-timeout`)
//! into each call, streams included (they carry them in their opening headers).
//! A list of several endpoints is balanced per call, because one long-lived
//! HTTP/2 connection would otherwise pin all traffic to one replica.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::{context, telemetry};

/// Where and how to reach another service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// One or more endpoints (`http://host:port`); several are balanced per call.
    pub endpoints: Vec<String>,
    /// Time allowed to open a connection.
    pub connect_timeout_ms: u64,
    /// Deadline of a call when the caller has none (0: none).
    pub default_timeout_ms: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self { endpoints: Vec::new(), connect_timeout_ms: 5_000, default_timeout_ms: 0 }
    }
}

impl ClientConfig {
    /// A config for one endpoint with default timeouts.
    pub fn single(endpoint: impl Into<String>) -> Self {
        Self { endpoints: vec![endpoint.into()], ..Self::default() }
    }
}

/// Why a channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No endpoint configured.
    #[error("no endpoint configured for {0}")]
    NoEndpoint(&'static str),
    /// An endpoint is not a valid URI.
    #[error("invalid endpoint {endpoint:?} for {service}: {source}")]
    BadEndpoint {
        /// Which service.
        service: &'static str,
        /// The endpoint as given.
        endpoint: String,
        /// Why it is invalid.
        source: tonic::transport::Error,
    },
}

/// The channel type all service clients use.
pub type MeshChannel = InterceptedService<Channel, ContextInterceptor>;

/// Builds a lazily connecting channel to `service` (its name is only for errors):
/// the first call connects, and a dropped connection is re-established on the
/// next call, so a restarted callee is picked up without restarting the caller.
pub fn channel(service: &'static str, config: &ClientConfig) -> Result<MeshChannel, ClientError> {
    if config.endpoints.is_empty() {
        return Err(ClientError::NoEndpoint(service));
    }
    let endpoints = config
        .endpoints
        .iter()
        .map(|e| {
            Endpoint::from_shared(e.clone())
                .map(|ep| {
                    ep.connect_timeout(Duration::from_millis(config.connect_timeout_ms))
                        .tcp_nodelay(true)
                        .http2_keep_alive_interval(Duration::from_secs(30))
                        .keep_alive_while_idle(true)
                })
                .map_err(|source| ClientError::BadEndpoint { service, endpoint: e.clone(), source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let channel = if endpoints.len() == 1 {
        endpoints.into_iter().next().expect("one endpoint").connect_lazy()
    } else {
        Channel::balance_list(endpoints.into_iter())
    };
    let default_timeout = (config.default_timeout_ms > 0).then(|| Duration::from_millis(config.default_timeout_ms));
    Ok(InterceptedService::new(channel, ContextInterceptor { default_timeout }))
}

/// Writes trace context and deadline into every outgoing call.
#[derive(Clone, Debug)]
pub struct ContextInterceptor {
    default_timeout: Option<Duration>,
}

impl tonic::service::Interceptor for ContextInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut headers = http::HeaderMap::new();
        telemetry::inject(&mut headers);
        for (name, value) in headers.iter() {
            if let Ok(key) = tonic::metadata::MetadataKey::from_bytes(name.as_str().as_bytes())
                && let Ok(v) = tonic::metadata::MetadataValue::try_from(value.as_bytes())
            {
                req.metadata_mut().insert(key, v);
            }
        }
        match context::remaining() {
            Some(left) if left.is_zero() => {
                return Err(tonic::Status::deadline_exceeded("caller's deadline passed before the call was made"));
            }
            Some(left) => req.set_timeout(left),
            None => {
                if let Some(t) = self.default_timeout {
                    req.set_timeout(t);
                }
            }
        }
        Ok(req)
    }
}
