//! How a chat request reaches its endpoint: hyper's pooled client for a plain
//! `http://` endpoint reached without a proxy (the local model server, an
//! in-cluster gateway), reqwest for the rest (TLS, proxies named in the
//! environment).
//!
//! Why two: per model call, reqwest's own layers around the same hyper pool
//! (its redirect policy parses the URL again even when nothing redirects, the
//! proxy matcher, the builder's header maps) showed as ~5 % of the mesh's CPU
//! in their own frames; going around them saved 15 % in the zero-latency
//! bench, 241 → 206 µs per model request (docs/benchmarks.md). Both paths
//! send the same request and read the answer the same way.

use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use productresearch_runtime::http::error_chain;

use crate::backoff;

/// The endpoint's answer, whatever its status.
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// Retry-After, when the endpoint sent one.
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Bytes,
}

/// Why no answer came.
pub(crate) enum Failure {
    /// The whole exchange took longer than the timeout.
    Timeout,
    /// The connection failed; the message names the cause, not the body.
    Connect(String),
}

/// The way to one endpoint's chat-completions URL.
#[derive(Clone)]
pub(crate) enum Transport {
    /// Boxed: hyper's client is ~400 bytes, reqwest's an `Arc`.
    Plain {
        client: Box<Client<HttpConnector, Full<Bytes>>>,
        uri: http::Uri,
        timeout: Duration,
    },
    Reqwest {
        client: reqwest::Client,
        url: reqwest::Url,
    },
}

/// Environment variables through which reqwest would send plain HTTP to a
/// proxy; with any set, the endpoint is left to reqwest, which honours them
/// (and `NO_PROXY`).
const PROXY_VARS: [&str; 4] = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];

impl Transport {
    /// The transport for `url`: `reqwest` (already built with the same
    /// timeouts) unless `url` is plain HTTP with no proxy configured.
    pub(crate) fn new(url: &str, reqwest: reqwest::Client, timeout: Duration, connect_timeout: Duration) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        let proxied = PROXY_VARS.iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        if !direct(&parsed, proxied) {
            return Ok(Self::Reqwest { client: reqwest, url: parsed });
        }
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Box::new(Client::builder(TokioExecutor::new()).build(connector));
        Ok(Self::Plain { client, uri, timeout })
    }

    /// POSTs `body` as JSON with the given optional headers.
    pub(crate) async fn post(
        &self,
        body: Bytes,
        authorization: Option<&HeaderValue>,
        trajectory: Option<HeaderValue>,
    ) -> Result<Answer, Failure> {
        match self {
            Self::Plain { client, uri, timeout } => {
                let mut request = http::Request::post(uri.clone()).header(CONTENT_TYPE, "application/json");
                if let Some(value) = authorization {
                    request = request.header(AUTHORIZATION, value.clone());
                }
                if let Some(value) = trajectory {
                    request = request.header(productresearch_runtime::context::TRAJECTORY_HEADER, value);
                }
                let request = request.body(Full::new(body)).map_err(|e| Failure::Connect(e.to_string()))?;
                let exchange = async {
                    let response = client.request(request).await.map_err(|e| Failure::Connect(error_chain(&e)))?;
                    let (parts, incoming) = response.into_parts();
                    let body = incoming.collect().await.map_err(|e| Failure::Connect(error_chain(&e)))?.to_bytes();
                    Ok(Answer { status: parts.status.as_u16(), retry_after: retry_after(&parts.headers), body })
                };
                tokio::time::timeout(*timeout, exchange).await.map_err(|_| Failure::Timeout)?
            }
            Self::Reqwest { client, url } => {
                // A one-shot body, not reqwest's reusable kind: reqwest keeps a
                // reusable body until the answer (to follow a redirect), and at
                // 1,000 calls in flight those bodies were megabytes held for
                // seconds. This one is freed once written.
                let body = reqwest::Body::wrap(Full::new(body));
                let mut request = client.post(url.clone()).header(CONTENT_TYPE, "application/json").body(body);
                if let Some(value) = authorization {
                    request = request.header(AUTHORIZATION, value.clone());
                }
                if let Some(value) = trajectory {
                    request = request.header(productresearch_runtime::context::TRAJECTORY_HEADER, value);
                }
                let response = request.send().await.map_err(reqwest_failure)?;
                let (status, retry_after) = (response.status().as_u16(), retry_after(response.headers()));
                let body = response.bytes().await.map_err(reqwest_failure)?;
                Ok(Answer { status, retry_after, body })
            }
        }
    }
}

/// Whether `url` goes by plain hyper: HTTP without TLS and no proxy set.
fn direct(url: &reqwest::Url, proxied: bool) -> bool {
    url.scheme() == "http" && !proxied
}

fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers.get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(backoff::parse_retry_after)
}

fn reqwest_failure(e: reqwest::Error) -> Failure {
    if e.is_timeout() { Failure::Timeout } else { Failure::Connect(error_chain(&e.without_url())) }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn plain(url: &str) -> Transport {
        let reqwest = productresearch_runtime::http::client_builder().build().unwrap();
        let transport = Transport::new(url, reqwest, Duration::from_secs(5), Duration::from_secs(5)).unwrap();
        // These tests are about the hyper path; a proxy variable in the
        // environment would send them through reqwest instead.
        assert!(matches!(transport, Transport::Plain { .. }), "unset {PROXY_VARS:?} to run these tests");
        transport
    }

    #[test]
    fn only_plain_http_without_a_proxy_goes_direct() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(direct(&url("http://127.0.0.1:8080/v1/chat/completions"), false));
        assert!(!direct(&url("http://127.0.0.1:8080/v1/chat/completions"), true));
        assert!(!direct(&url("https://api.example.com/v1/chat/completions"), false));
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_names_the_cause() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let transport = plain(&format!("http://127.0.0.1:{port}/v1/chat/completions"));
        let Err(Failure::Connect(message)) = transport.post(Bytes::from_static(b"{}"), None, None).await else { panic!("connected") };
        assert!(message.to_lowercase().contains("refused"), "{message}");
    }

    // A server that closes each connection after one answer, as one whose
    // keep-alive timeout passed between two model calls: the pooled
    // connection is dead when reused, and the call must still go through.
    #[tokio::test]
    async fn a_connection_the_server_closed_is_not_a_failure() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The head, then the 2-byte body the test sends.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") || !request.ends_with(b"{}") {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
                socket.write_all(answer).await.unwrap();
                // Closed without `Connection: close`: the client learns it only by reading.
                drop(socket);
            }
        });
        let transport = plain(&format!("http://127.0.0.1:{port}/v1/chat/completions"));
        for _ in 0..3 {
            let answer = transport.post(Bytes::from_static(b"{}"), None, None).await.ok().expect("answered");
            assert_eq!((answer.status, &answer.body[..]), (200, &b"{\"ok\":true}"[..]));
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3, "a new connection for each call");
    }
}
