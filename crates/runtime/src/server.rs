//! The one gRPC server stack of the mesh.
//!
//! [`serve`] mounts a service's routes together with gRPC health and reflection
//! (v1 and v1alpha: grpcurl speaks only v1alpha, buf curl v1) behind the tower
//! stack built in [`layers`], and serves until `shutdown` resolves.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic_health::ServingStatus;

use crate::{context, telemetry};

/// Limits of one gRPC server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Longest time a unary call may take before it fails with DEADLINE_EXCEEDED
    /// (a caller's shorter `grpc-timeout` wins). Streams are bounded by their caller.
    pub request_timeout_secs: u64,
    /// Requests served at once; more are shed with UNAVAILABLE instead of queueing.
    pub concurrency_limit: usize,
    /// Largest message accepted or sent, in bytes.
    pub max_message_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self { request_timeout_secs: 600, concurrency_limit: 2048, max_message_bytes: 16 * 1024 * 1024 }
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
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in services {
        health.set_service_status(*name, ServingStatus::Serving).await;
    }
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(productresearch_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(productresearch_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let routes = routes.add_service(health_service).add_service(reflection_v1).add_service(reflection_v1alpha);

    let reporter = health.clone();
    let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    let shutdown = async move {
        shutdown.await;
        // Report NOT_SERVING first so balancers stop sending new calls while the
        // in-flight ones drain.
        for name in &names {
            reporter.set_service_status(name, ServingStatus::NotServing).await;
        }
    };
    // The tower stack every server runs, outermost first:
    // 1. trace: one span per call, child of the caller's W3C trace context, so the
    //    handler (and every call it makes) is in the caller's trace;
    // 2. deadline: records the caller's `grpc-timeout` so outgoing calls inherit it;
    // 3. timeout: the server's own cap on a call (DEADLINE_EXCEEDED past it);
    // 4. load shed: rejects at once when the limit below is saturated, so overload
    //    becomes a fast UNAVAILABLE a client can retry elsewhere, not a queue;
    // 5. concurrency limit.
    let stack = tower::ServiceBuilder::new()
        .layer(tower_http::trace::TraceLayer::new_for_grpc().make_span_with(server_span))
        .layer(DeadlineLayer)
        .timeout(Duration::from_secs(config.request_timeout_secs))
        .load_shed()
        .concurrency_limit(config.concurrency_limit)
        .into_inner();
    tonic::transport::Server::builder()
        .layer(stack)
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}

fn server_span<B>(req: &http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!(
        "grpc.server",
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.method = %req.uri().path(),
    );
    telemetry::set_parent_from(&span, req.headers());
    span
}

/// Layer that runs each call inside the caller's deadline (see [`context`]).
#[derive(Clone, Copy)]
pub struct DeadlineLayer;

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService { inner }
    }
}

/// See [`DeadlineLayer`].
#[derive(Clone)]
pub struct DeadlineService<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for DeadlineService<S>
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
        Box::pin(context::with_deadline(deadline, self.inner.call(req)))
    }
}
