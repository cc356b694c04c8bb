//! gRPC client channels for calls between services.
//!
//! Every channel made here runs [`ContextInterceptor`]: it writes the current
//! span's W3C `traceparent` and the caller's remaining deadline (`grpc-timeout`)
//! into each call, streams included (they carry them in their opening headers).
//! A list of several endpoints is balanced per call, because one long-lived
//! HTTP/2 connection would otherwise pin all traffic to one replica.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::in_process::{self, InProcessChannel};
use crate::tls::ClientTls;
use crate::{context, telemetry};

/// Where and how to reach another service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// One or more endpoints (`http://host:port`); several are balanced per call.
    /// `in-process://host:port` reaches the server listening there in this
    /// same process without a socket (see [`crate::in_process`]).
    pub endpoints: Vec<String>,
    /// Time allowed to open a connection.
    pub connect_timeout_ms: u64,
    /// Deadline of a call when the caller has none (0: none).
    pub default_timeout_ms: u64,
    /// TLS to the endpoints (then `https://`); off by default (see [`crate::tls`]).
    pub tls: ClientTls,
    /// File holding the bearer token sent with every call (a mounted Secret),
    /// for servers that require one (see [`crate::auth`]).
    pub bearer_token_file: Option<PathBuf>,
    /// Name of an environment variable holding the bearer token; used when
    /// `bearer_token_file` is unset.
    pub bearer_token_env: Option<String>,
    /// Re-resolve the (one) endpoint's host every this many seconds and balance
    /// calls across all its addresses, e.g. a headless Service's pods (0: off,
    /// one connection; see [`crate::discovery`]).
    pub dns_refresh_secs: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            connect_timeout_ms: 5_000,
            default_timeout_ms: 0,
            tls: ClientTls::default(),
            bearer_token_file: None,
            bearer_token_env: None,
            dns_refresh_secs: 0,
        }
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
    /// TLS is configured and an endpoint is plaintext, or the reverse: refusing
    /// to silently downgrade (or to fail at the first call).
    #[error("endpoint {endpoint:?} for {service}: {reason}")]
    Scheme {
        /// Which service.
        service: &'static str,
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The TLS files are missing or invalid.
    #[error("{service}: {source}")]
    Tls {
        /// Which service.
        service: &'static str,
        /// Why.
        source: crate::tls::TlsError,
    },
    /// The bearer token cannot be read or is not a valid header value.
    #[error("{service}: {reason}")]
    Token {
        /// Which service.
        service: &'static str,
        /// Why (never the token).
        reason: String,
    },
}

/// The channel type all service clients use.
pub type MeshChannel = InterceptedService<Transport, ContextInterceptor>;

/// How a client reaches its server: HTTP/2 over the network, or the stack of a
/// server in this process (`in-process://`, see [`crate::in_process`]).
#[derive(Clone, Debug)]
pub enum Transport {
    /// A tonic channel (one endpoint, a balanced list, or re-resolved by DNS).
    Network(Channel),
    /// A server of this process.
    InProcess(InProcessChannel),
}

type GrpcRequest = http::Request<tonic::body::Body>;
type Boxed<S> =
    futures::future::MapErr<<S as tower::Service<GrpcRequest>>::Future, fn(<S as tower::Service<GrpcRequest>>::Error) -> tower::BoxError>;

impl tower::Service<GrpcRequest> for Transport {
    type Response = http::Response<tonic::body::Body>;
    type Error = tower::BoxError;
    type Future = futures::future::Either<Boxed<Channel>, Boxed<InProcessChannel>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        match self {
            Self::Network(c) => c.poll_ready(cx).map_err(Into::into),
            Self::InProcess(c) => c.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, req: GrpcRequest) -> Self::Future {
        use futures::TryFutureExt;
        match self {
            Self::Network(c) => futures::future::Either::Left(c.call(req).map_err(Into::into as fn(_) -> _)),
            Self::InProcess(c) => futures::future::Either::Right(c.call(req).map_err(Into::into as fn(_) -> _)),
        }
    }
}

/// Builds a lazily connecting channel to `service` (its name is only for errors):
/// the first call connects, and a dropped connection is re-established on the
/// next call, so a restarted callee is picked up without restarting the caller.
pub fn channel(service: &'static str, config: &ClientConfig) -> Result<MeshChannel, ClientError> {
    if config.endpoints.is_empty() {
        return Err(ClientError::NoEndpoint(service));
    }
    let tls = config.tls.load().map_err(|source| ClientError::Tls { service, source })?;
    let authorization = bearer_token(service, config)?;
    let default_timeout = (config.default_timeout_ms > 0).then(|| Duration::from_millis(config.default_timeout_ms));
    let interceptor = ContextInterceptor { default_timeout, authorization };
    if let Some(endpoint) = config.endpoints.iter().find(|e| e.starts_with(in_process::SCHEME)) {
        let reason = if config.endpoints.len() > 1 {
            Some("an in-process endpoint must be the only one")
        } else if tls.is_some() {
            Some("an in-process endpoint takes no tls (nothing leaves the process)")
        } else if config.dns_refresh_secs > 0 {
            Some("an in-process endpoint has no addresses to re-resolve: set dns_refresh_secs = 0")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(ClientError::Scheme { service, endpoint: endpoint.clone(), reason });
        }
        let channel = InProcessChannel::new(endpoint).expect("in-process scheme");
        return Ok(InterceptedService::new(Transport::InProcess(channel), interceptor));
    }
    let endpoints = config
        .endpoints
        .iter()
        .map(|e| {
            let https = e.starts_with("https://");
            if tls.is_some() && !https {
                return Err(ClientError::Scheme {
                    service,
                    endpoint: e.clone(),
                    reason: "tls is configured, so the endpoint must be https://",
                });
            }
            if tls.is_none() && https {
                return Err(ClientError::Scheme { service, endpoint: e.clone(), reason: "an https:// endpoint needs tls.ca_file" });
            }
            let ep = Endpoint::from_shared(e.clone())
                .map(|ep| {
                    ep.connect_timeout(Duration::from_millis(config.connect_timeout_ms))
                        .tcp_nodelay(true)
                        .http2_keep_alive_interval(Duration::from_secs(30))
                        .keep_alive_while_idle(true)
                })
                .map_err(|source| ClientError::BadEndpoint { service, endpoint: e.clone(), source })?;
            match &tls {
                Some(tls) => ep.tls_config(tls.clone()).map_err(|source| ClientError::BadEndpoint { service, endpoint: e.clone(), source }),
                None => Ok(ep),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let channel = if config.dns_refresh_secs > 0 {
        let [endpoint] = <[Endpoint; 1]>::try_from(endpoints).map_err(|_| ClientError::Scheme {
            service,
            endpoint: config.endpoints.join(","),
            reason: "dns_refresh_secs balances the addresses of one name: list exactly one endpoint",
        })?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ClientError::Scheme {
                service,
                endpoint: config.endpoints[0].clone(),
                reason: "dns_refresh_secs needs a tokio runtime to re-resolve in",
            });
        }
        crate::discovery::resolving_channel(
            endpoint,
            tls.clone(),
            Duration::from_secs(config.dns_refresh_secs),
            Duration::from_millis(config.connect_timeout_ms),
        )
    } else if endpoints.len() == 1 {
        endpoints.into_iter().next().expect("one endpoint").connect_lazy()
    } else {
        Channel::balance_list(endpoints.into_iter())
    };
    Ok(InterceptedService::new(Transport::Network(channel), interceptor))
}

/// The `authorization` value of every call, marked sensitive so that no
/// `Debug` output shows it.
fn bearer_token(service: &'static str, config: &ClientConfig) -> Result<Option<MetadataValue<Ascii>>, ClientError> {
    let token = match (&config.bearer_token_file, &config.bearer_token_env) {
        (Some(path), _) => std::fs::read_to_string(path).map_err(|e| ClientError::Token {
            service,
            reason: format!("cannot read bearer token file {}: {}", path.display(), e.kind()),
        })?,
        (None, Some(var)) => std::env::var(var)
            .map_err(|_| ClientError::Token { service, reason: format!("environment variable {var} (bearer_token_env) is not set") })?,
        (None, None) => return Ok(None),
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(ClientError::Token { service, reason: "the configured bearer token is empty".into() });
    }
    let mut value = MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| ClientError::Token { service, reason: "the bearer token is not a valid header value".into() })?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// Writes trace context, deadline and trajectory into every outgoing call.
#[derive(Clone, Debug)]
pub struct ContextInterceptor {
    default_timeout: Option<Duration>,
    authorization: Option<MetadataValue<Ascii>>,
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
        if let Some(token) = &self.authorization {
            req.metadata_mut().insert("authorization", token.clone());
        }
        if let Some(id) = context::trajectory()
            && let Ok(v) = MetadataValue::try_from(&*id)
        {
            req.metadata_mut().insert(context::TRAJECTORY_HEADER, v);
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
