//! The request context that must follow work across tasks and hops: the caller's
//! deadline, the trajectory the work is for, and the tracing span (which
//! carries the W3C trace context).
//!
//! A server records the deadline of each incoming call (from `grpc-timeout`) in a
//! task-local; the client interceptor turns what is left of it into the
//! `grpc-timeout` of every outgoing call, so a callee never works past its
//! caller's deadline. The trajectory id travels the same way, in
//! [`TRAJECTORY_HEADER`], and the model client sends it with each model
//! request, so a model gateway's logs can be joined with the records.
//! Streaming handlers spawn tasks: [`spawn`] carries all of it into them.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

/// gRPC metadata key and HTTP header naming the trajectory a call works for.
pub const TRAJECTORY_HEADER: &str = "x-trajectory-id";

tokio::task_local! {
    static DEADLINE: Option<Instant>;
    static TRAJECTORY: Option<Arc<str>>;
}

/// The trajectory the current work is for, if a caller named one.
pub fn trajectory() -> Option<Arc<str>> {
    TRAJECTORY.try_with(Clone::clone).ok().flatten()
}

/// Runs `fut` as work for trajectory `id`.
pub fn with_trajectory<F: Future>(id: Option<Arc<str>>, fut: F) -> impl Future<Output = F::Output> {
    TRAJECTORY.scope(id, fut)
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

/// Spawns `fut` carrying the current deadline, trajectory and span, so calls
/// it makes keep the caller's trace, deadline and trajectory.
pub fn spawn<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(carry(fut))
}

/// `fut` with the current deadline, trajectory and span, for a task spawned
/// elsewhere (a `JoinSet`, say).
pub fn carry<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    with_deadline(deadline(), with_trajectory(trajectory(), fut)).instrument(tracing::Span::current())
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
    async fn spawned_work_keeps_the_deadline_and_trajectory() {
        let d = Instant::now() + Duration::from_secs(30);
        let id: Arc<str> = "t-1".into();
        let seen =
            with_deadline(Some(d), with_trajectory(Some(id.clone()), async { spawn(async { (deadline(), trajectory()) }).await.unwrap() }))
                .await;
        assert_eq!(seen, (Some(d), Some(id)));
        assert_eq!((deadline(), trajectory()), (None, None));
    }
}
