//! Calls between services that share a process (`productresearch run`),
//! without sockets or HTTP/2.
//!
//! Every server started by [`crate::server::serve`] also registers its whole
//! tower stack (trace span, auth, message limit, deadline, timeout, load
//! shed, concurrency limit, then the routes) under its listen address. A
//! client whose endpoint is `in-process://<that address>` hands each request
//! straight to that stack: the same gRPC encoding, handlers, status codes,
//! streams and trailers as over the network, minus the HTTP/2 framing, the
//! connection tasks and the kernel's loopback TCP: about 12–15 % less CPU per
//! model request for `productresearch run`'s mesh (docs/benchmarks.md).
//!
//! What differs from a socket: no TLS (nothing leaves the process), and the
//! server's handler runs in the caller's task. The caller's `grpc-timeout`
//! bounds the call until its response headers, as tonic's server does.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, RwLock};
use std::task::{Context, Poll};

use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

/// The endpoint scheme of a server in this process.
pub const SCHEME: &str = "in-process://";

type Request = http::Request<tonic::body::Body>;
type Response = http::Response<tonic::body::Body>;
type Stack = BoxCloneSyncService<Request, Response, Infallible>;

/// The servers of this process, by listen address (`127.0.0.1:port`).
static SERVERS: LazyLock<RwLock<HashMap<String, Stack>>> = LazyLock::new(Default::default);

/// A server's place in the registry; dropping it removes the server, so new
/// in-process calls fail as a closed port would (calls already made finish).
#[must_use = "the server is unregistered when this is dropped"]
pub(crate) struct Registration {
    address: Option<String>,
}

impl Registration {
    /// Removes the server now (the listener closes).
    pub(crate) fn remove(&mut self) {
        if let Some(address) = self.address.take() {
            SERVERS.write().unwrap_or_else(|p| p.into_inner()).remove(&address);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Registers `stack` as the server at `address`. Errors of the stack (its
/// timeout, load shedding) become gRPC statuses here, as tonic's server turns
/// them into responses.
pub(crate) fn register<S, B>(address: String, stack: S) -> Registration
where
    S: tower::Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<tower::BoxError>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tower::BoxError>,
{
    let stack = tower::service_fn(move |req: Request| {
        let call = stack.clone().oneshot(req);
        async move {
            Ok::<_, Infallible>(match call.await {
                Ok(response) => response.map(tonic::body::Body::new),
                Err(err) => status_of(err.into()).into_http(),
            })
        }
    });
    SERVERS.write().unwrap_or_else(|p| p.into_inner()).insert(address.clone(), BoxCloneSyncService::new(stack));
    Registration { address: Some(address) }
}

/// The status a failed server stack answers with.
fn status_of(err: tower::BoxError) -> tonic::Status {
    if err.is::<tower::timeout::error::Elapsed>() {
        return tonic::Status::deadline_exceeded("the server's request timeout passed");
    }
    tonic::Status::from_error(err)
}

/// A client transport to a server of this process (see the module docs).
#[derive(Clone, Debug)]
pub struct InProcessChannel {
    address: Arc<str>,
}

impl InProcessChannel {
    /// A channel to `endpoint` (`in-process://host:port`); `None` for another scheme.
    pub fn new(endpoint: &str) -> Option<Self> {
        endpoint.strip_prefix(SCHEME).map(|address| Self { address: address.trim_end_matches('/').into() })
    }
}

impl tower::Service<Request> for InProcessChannel {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // Looked up per call: a server restarted on the same address is
        // found again, a stopped one answers UNAVAILABLE.
        let server = SERVERS.read().unwrap_or_else(|p| p.into_inner()).get(&*self.address).cloned();
        let Some(server) = server else {
            let status = tonic::Status::unavailable(format!("no server at {SCHEME}{} in this process (stopped?)", self.address));
            return Box::pin(std::future::ready(Ok(status.into_http())));
        };
        let deadline = req.headers().get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(crate::context::parse_grpc_timeout);
        let call = server.oneshot(req);
        Box::pin(async move {
            match deadline {
                None => call.await,
                Some(left) => Ok(tokio::time::timeout(left, call)
                    .await
                    .unwrap_or_else(|_| Ok(tonic::Status::deadline_exceeded("the caller's deadline passed").into_http()))?),
            }
        })
    }
}
