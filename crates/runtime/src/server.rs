//! The one gRPC server stack of the mesh.
//!
//! [`serve`] mounts a service's routes together with gRPC health and reflection
//! (v1 and v1alpha: grpcurl speaks only v1alpha, buf curl v1) behind the tower
//! stack built in [`layers`], and serves until `shutdown` resolves.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::auth::{AuthConfig, AuthError, AuthLayer};
use crate::limits::MessageLimitLayer;
use crate::tls::{ServerTls, TlsError};
use crate::{context, in_process, telemetry};

/// Pending connections a listener holds before the kernel drops new ones
/// (capped by `net.core.somaxconn`). Tokio's `TcpListener::bind` asks for
/// std's 128: a burst of more new connections than that overflows the queue,
/// and each dropped SYN is retried by the client only after a second.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` (`host:port`) with a [`LISTEN_BACKLOG`]-deep accept queue.
pub async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for at in tokio::net::lookup_host(addr).await? {
        let socket = if at.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        // As std does: a restarted server can bind while old connections linger.
        socket.set_reuseaddr(true)?;
        match socket.bind(at) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{addr} resolves to no address"))))
}

/// Limits of one gRPC server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Longest time a unary call may take before it fails with DEADLINE_EXCEEDED
    /// (a caller's shorter `grpc-timeout` wins). Streams are bounded by their caller.
    pub request_timeout_secs: u64,
    /// Requests served at once; more are shed with UNAVAILABLE instead of queueing.
    pub concurrency_limit: usize,
    /// Largest message accepted or sent, in bytes; a larger one fails the call
    /// with RESOURCE_EXHAUSTED (see [`crate::limits`]).
    pub max_message_bytes: usize,
    /// TLS (and mutual TLS) of the gRPC port; off by default (see [`crate::tls`]).
    pub tls: ServerTls,
    /// Bearer tokens required of callers; off by default (see [`crate::auth`]).
    pub auth: AuthConfig,
    /// Extra plaintext listener serving only gRPC health (e.g. `0.0.0.0:8081`),
    /// for kubelet's gRPC probes, which cannot speak TLS or send tokens.
    pub health_listen: Option<String>,
    /// Seconds between reporting NOT_SERVING on a shutdown signal and closing
    /// the listener: callers that balance by health (or re-resolve a headless
    /// Service) move new calls elsewhere first. In-flight calls then drain.
    pub drain_delay_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            request_timeout_secs: 600,
            concurrency_limit: 2048,
            max_message_bytes: 16 * 1024 * 1024,
            tls: ServerTls::default(),
            auth: AuthConfig::default(),
            health_listen: None,
            drain_delay_secs: 0,
        }
    }
}

/// Why a server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The transport failed.
    #[error("grpc server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection service could not be built from the descriptor set.
    #[error("grpc reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The TLS files are missing or invalid.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The bearer token source cannot be read.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The health listener cannot bind.
    #[error("cannot listen for health probes on {addr}: {reason}")]
    HealthListen {
        /// The address.
        addr: String,
        /// Why.
        reason: std::io::Error,
    },
}

/// Serves `routes` (plus health and reflection) on `listener` until `shutdown`.
/// `services` are the fully qualified gRPC service names reported SERVING.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    services: &[&str],
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    // Security settings are read before anything serves, so a bad file stops
    // the start with one line instead of failing calls later.
    let tls = config.tls.load()?;
    let tokens = config.auth.load()?;
    let health_listener = match &config.health_listen {
        Some(addr) => Some(listen(addr).await.map_err(|reason| ServeError::HealthListen { addr: addr.clone(), reason })?),
        None => None,
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in services {
        health.set_service_status(*name, ServingStatus::Serving).await;
    }
    let reflection_v1 = reflection(services).build_v1()?;
    let reflection_v1alpha = reflection(services).build_v1alpha()?;
    // Probes get their own plaintext port when configured; it stops after the
    // main server has drained.
    let (probe_stop, probe_stopped) = tokio::sync::oneshot::channel::<()>();
    let probes = health_listener.map(|listener| {
        let health = health_service.clone();
        tokio::spawn(tonic::transport::Server::builder().add_service(health).serve_with_incoming_shutdown(no_delay(listener), async move {
            let _ = probe_stopped.await;
        }))
    });
    let routes =
        with_named_fallback(routes.add_service(health_service).add_service(reflection_v1).add_service(reflection_v1alpha), services);

    let address = listener.local_addr().ok().map(|a| a.to_string());
    let reporter = health.clone();
    let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    let drain_delay = Duration::from_secs(config.drain_delay_secs);
    // Filled below, once the stack exists; removed when the listener closes.
    let (registered, registration) = tokio::sync::oneshot::channel::<in_process::Registration>();
    let shutdown = async move {
        let registration = registration.await.ok();
        shutdown.await;
        // Report NOT_SERVING first and keep accepting calls for the drain
        // delay, so balancers stop sending new calls before the listener
        // closes; then the in-flight ones drain.
        for name in &names {
            reporter.set_service_status(name, ServingStatus::NotServing).await;
        }
        if !drain_delay.is_zero() {
            tracing::info!(delay_secs = drain_delay.as_secs(), "NOT_SERVING; closing the listener after the drain delay");
            tokio::time::sleep(drain_delay).await;
        }
        if let Some(mut registration) = registration {
            registration.remove();
        }
    };
    // The tower stack every server runs, outermost first:
    // 1. trace: one span per call, child of the caller's W3C trace context, so the
    //    handler (and every call it makes) is in the caller's trace;
    // 2. auth: a call without an accepted bearer token (when tokens are
    //    configured) ends here, traced but costing no capacity below;
    // 3. message limit: RESOURCE_EXHAUSTED as soon as a request message announces
    //    more than `max_message_bytes`, before it is buffered;
    // 4. deadline: records the caller's `grpc-timeout` so outgoing calls inherit it;
    // 5. timeout: the server's own cap on a call (DEADLINE_EXCEEDED past it);
    // 6. load shed: rejects at once when the limit below is saturated, so overload
    //    becomes a fast UNAVAILABLE a client can retry elsewhere, not a queue;
    // 7. concurrency limit, one for the network and in-process calls together.
    // The same stack serves calls from this process (see [`in_process`]).
    let stack = tower::ServiceBuilder::new()
        .layer(tower_http::trace::TraceLayer::new_for_grpc().make_span_with(server_span(services)))
        .layer(AuthLayer::new(tokens))
        .layer(MessageLimitLayer::new(config.max_message_bytes))
        .layer(ContextLayer)
        .timeout(Duration::from_secs(config.request_timeout_secs))
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(config.concurrency_limit))
        .into_inner();
    match address {
        Some(address) => {
            let _ = registered.send(in_process::register(address, tower::Layer::layer(&stack, routes.clone())));
        }
        None => drop(registered),
    }
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let served = builder.layer(stack).add_routes(routes).serve_with_incoming_shutdown(no_delay(listener), shutdown).await;
    let _ = probe_stop.send(());
    if let Some(probes) = probes {
        let _ = probes.await;
    }
    served?;
    Ok(())
}

/// The gRPC health service and both reflection versions, as reflection lists them.
const STANDARD_SERVICES: [&str; 3] =
    ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/// Reflection over the mesh's descriptors that lists only `services` (and
/// health and reflection): one descriptor set holds all five services, and a
/// client browsing a server must see only what that server answers. The
/// other services' types stay resolvable by symbol.
fn reflection(services: &[&str]) -> tonic_reflection::server::Builder<'static> {
    let builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(productresearch_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    services.iter().copied().chain(STANDARD_SERVICES).fold(builder, |b, name| b.with_service_name(name))
}

/// Replaces tonic's fallback (UNIMPLEMENTED with an empty message) by one
/// that names the method asked for and the services this server has, so a
/// client pointed at the wrong port learns it from the error.
fn with_named_fallback(mut routes: Routes, services: &[&str]) -> Routes {
    let served = services.join(", ");
    let router = std::mem::take(routes.axum_router_mut()).fallback_service(tower::service_fn(move |req: http::Request<_>| {
        let message = format!("unknown method {}: this server serves {served} (and grpc health and reflection)", req.uri().path());
        async move {
            let (parts, ()) = tonic::Status::unimplemented(message).into_http::<()>().into_parts();
            Ok::<_, std::convert::Infallible>(http::Response::from_parts(parts, tonic::body::Body::empty()))
        }
    }));
    Routes::from(router)
}

/// The span of each call, naming the mesh service the server runs (health
/// checks included, whose `rpc.method` names only the health service).
fn server_span<B>(services: &[&str]) -> impl Fn(&http::Request<B>) -> tracing::Span + Clone + use<B> {
    let server: Arc<str> = services.first().copied().unwrap_or_default().into();
    move |req| {
        let span = tracing::info_span!(
            "grpc.server",
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %req.uri().path(),
            { telemetry::attributes::SERVER_SERVICE } = %server,
        );
        telemetry::set_parent_from(&span, req.headers());
        span
    }
}

/// Layer that runs each call inside the caller's deadline and trajectory
/// (see [`context`]).
#[derive(Clone, Copy)]
pub struct ContextLayer;

impl<S> tower::Layer<S> for ContextLayer {
    type Service = ContextService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ContextService { inner }
    }
}

/// See [`ContextLayer`].
#[derive(Clone)]
pub struct ContextService<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for ContextService<S>
where
    S: tower::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let deadline = req
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(context::parse_grpc_timeout)
            .map(|d| Instant::now() + d);
        let trajectory = req.headers().get(context::TRAJECTORY_HEADER).and_then(|v| v.to_str().ok()).map(Arc::from);
        Box::pin(context::with_deadline(deadline, context::with_trajectory(trajectory, self.inner.call(req))))
    }
}

/// Accepted connections with Nagle's algorithm off: a gRPC message is often
/// smaller than a segment, and Nagle plus the peer's delayed ACK held each
/// small response back ~40 ms per hop.
fn no_delay(listener: tokio::net::TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}
