//! Message size limits with the status gRPC prescribes for them.
//!
//! tonic enforces `max_decoding_message_size` only once a whole message is
//! buffered, and answers OUT_OF_RANGE; gRPC's status code for a message over
//! the limit is RESOURCE_EXHAUSTED. This layer reads the 5-byte header of each
//! length-prefixed message in a request body and fails the call with
//! RESOURCE_EXHAUSTED as soon as a header announces more than the limit, before
//! the payload is buffered. For responses, tonic's encoder fails an oversized
//! message with OUT_OF_RANGE in the trailers; the layer reports it as
//! RESOURCE_EXHAUSTED too, so callers see one code for one condition.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::body::Body;

/// Bytes of a gRPC message header: compression flag + big-endian length.
const HEADER_LEN: usize = 5;

/// Tower layer limiting each request message to `max` bytes.
#[derive(Clone, Copy, Debug)]
pub struct MessageLimitLayer {
    max: usize,
}

impl MessageLimitLayer {
    /// Limits messages to `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl<S> tower::Layer<S> for MessageLimitLayer {
    type Service = MessageLimitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MessageLimitService { inner, max: self.max }
    }
}

/// See [`MessageLimitLayer`].
#[derive(Clone, Debug)]
pub struct MessageLimitService<S> {
    inner: S,
    max: usize,
}

impl<S, R> tower::Service<http::Request<Body>> for MessageLimitService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    R::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let max = self.max;
        let req = req.map(|body| Body::new(LimitedRequest { inner: body, max, scan: FrameScan::default() }));
        let fut = self.inner.call(req);
        Box::pin(async move { Ok(fut.await?.map(|body| Body::new(OversizeStatus { inner: body }))) })
    }
}

/// Where the scan of a request body stands.
#[derive(Default)]
struct FrameScan {
    header: [u8; HEADER_LEN],
    header_filled: usize,
    payload_left: usize,
}

impl FrameScan {
    /// Walks `data`, checking each message length announced in it.
    fn feed(&mut self, mut data: &[u8], max: usize) -> Result<(), tonic::Status> {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let skip = self.payload_left.min(data.len());
                self.payload_left -= skip;
                data = &data[skip..];
                continue;
            }
            let take = (HEADER_LEN - self.header_filled).min(data.len());
            self.header[self.header_filled..self.header_filled + take].copy_from_slice(&data[..take]);
            self.header_filled += take;
            data = &data[take..];
            if self.header_filled == HEADER_LEN {
                let len = u32::from_be_bytes([self.header[1], self.header[2], self.header[3], self.header[4]]) as usize;
                if len > max {
                    return Err(too_large(len, max));
                }
                self.header_filled = 0;
                self.payload_left = len;
            }
        }
        Ok(())
    }
}

fn too_large(len: usize, max: usize) -> tonic::Status {
    tonic::Status::resource_exhausted(format!(
        "request message of {len} bytes exceeds the server's limit of {max} bytes (server.max_message_bytes)"
    ))
}

/// A request body that fails once a message header announces more than `max`.
struct LimitedRequest {
    inner: Body,
    max: usize,
    scan: FrameScan,
}

impl HttpBody for LimitedRequest {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
            && let Err(status) = this.scan.feed(data.chunk(), this.max)
        {
            return Poll::Ready(Some(Err(status)));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body whose "encoded message too large" status (OUT_OF_RANGE
/// from tonic's encoder) is reported as RESOURCE_EXHAUSTED.
struct OversizeStatus<R> {
    inner: R,
}

impl<R> HttpBody for OversizeStatus<R>
where
    R: HttpBody<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = R::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        Poll::Ready(frame.map(|r| {
            r.map(|f| match f.into_trailers() {
                Ok(mut trailers) => {
                    if is_oversize_encode(&trailers) {
                        trailers.insert("grpc-status", http::HeaderValue::from_static("8"));
                    }
                    Frame::trailers(trailers)
                }
                Err(data) => data,
            })
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// tonic's own status for a response message over the encoding limit.
fn is_oversize_encode(trailers: &http::HeaderMap) -> bool {
    let code_is_out_of_range = trailers.get("grpc-status").is_some_and(|v| v.as_bytes() == b"11");
    let message = trailers.get("grpc-message").map(|v| v.as_bytes()).unwrap_or_default();
    // tonic's text is "Error, encoded message length too large: ..."; grpc-message
    // may be percent-encoded.
    code_is_out_of_range
        && (contains(message, b"encoded%20message%20length%20too%20large") || contains(message, b"encoded message length too large"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: u32) -> Vec<u8> {
        let mut v = vec![0u8];
        v.extend_from_slice(&len.to_be_bytes());
        v.extend(std::iter::repeat_n(7u8, len as usize));
        v
    }

    #[test]
    fn headers_split_across_chunks_are_still_read() {
        let mut body = frame(10);
        body.extend(frame(3));
        body.extend(frame(50));
        let mut scan = FrameScan::default();
        // Feed one byte at a time: every header is split.
        let mut result = Ok(());
        for b in &body {
            result = scan.feed(std::slice::from_ref(b), 20);
            if result.is_err() {
                break;
            }
        }
        let status = result.unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("50 bytes"), "{}", status.message());
    }

    #[test]
    fn messages_within_the_limit_pass() {
        let mut body = frame(20);
        body.extend(frame(0));
        body.extend(frame(19));
        FrameScan::default().feed(&body, 20).unwrap();
    }
}
