//! The request context that must follow work across tasks and hops: the caller's
//! deadline and the tracing span (which carries the W3C trace context).
//!
//! A server records the deadline of each incoming call (from `grpc-timeout`) in a
//! task-local; the client interceptor turns what is left of it into the
//! `grpc-timeout` of every outgoing call, so a callee never works past its
//! caller's deadline. Streaming handlers spawn tasks: [`spawn`] carries both the
//! deadline and the span into them.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;

tokio::task_local! {
    static DEADLINE: Option<Instant>;
}

/// The deadline of the request being served, if the caller set one.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok().flatten()
}

/// Time left before the current deadline (zero when past it).
pub fn remaining() -> Option<Duration> {
    deadline().map(|d| d.saturating_duration_since(Instant::now()))
}

/// Runs `fut` with `deadline` as the current deadline.
pub fn with_deadline<F: Future>(deadline: Option<Instant>, fut: F) -> impl Future<Output = F::Output> {
    DEADLINE.scope(deadline, fut)
}

/// Spawns `fut` carrying the current deadline and span, so calls it makes keep
/// the caller's trace and deadline.
pub fn spawn<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(carry(fut))
}

/// `fut` with the current deadline and span, for a task spawned elsewhere
/// (a `JoinSet`, say).
pub fn carry<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    with_deadline(deadline(), fut).instrument(tracing::Span::current())
}

/// Parses a `grpc-timeout` header value (e.g. `100m`, `5S`) into a duration.
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("7x"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
    }

    #[tokio::test]
    async fn spawned_work_keeps_the_deadline() {
        let d = Instant::now() + Duration::from_secs(30);
        let seen = with_deadline(Some(d), async { spawn(async { deadline() }).await.unwrap() }).await;
        assert_eq!(seen, Some(d));
        assert_eq!(deadline(), None);
    }
}
