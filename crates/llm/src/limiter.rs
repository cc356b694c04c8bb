//! Adaptive concurrency per endpoint (AIMD), so a rate-limited endpoint is
//! driven at its capacity instead of being hammered into 429s.
//!
//! - The limit starts at [`INITIAL_LIMIT`] (or the ceiling, if lower) and
//!   grows by one per success until the first sign of overload (slow start),
//!   then by one per window of `limit` successes (additive increase), never
//!   above the configured ceiling (`max_concurrency`).
//! - A 429 or 503, a timeout, or an answer slower than half the attempt
//!   timeout (the endpoint is queueing) halves the limit (multiplicative
//!   decrease) — once per window: the overloads of calls that were already in
//!   flight when the limit was cut do not cut it again.
//! - A `Retry-After` pauses every caller of the endpoint until then, so no
//!   call is sent into a window the endpoint said it would refuse.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// Where the limit starts.
const INITIAL_LIMIT: usize = 8;

#[derive(Debug)]
struct State {
    limit: usize,
    /// Successes since the limit last grew (congestion avoidance).
    window: usize,
    /// Permits to take out of circulation as they come back (the limit was
    /// cut below the calls in flight).
    debt: usize,
    /// Counts the cuts; a call's overload only cuts when no cut happened
    /// since the call started.
    epoch: u64,
    slow_start: bool,
    paused_until: Option<Instant>,
}

/// The limiter of one endpoint, shared by every clone of its client.
#[derive(Debug)]
pub(crate) struct Limiter {
    ceiling: usize,
    /// Off: a fixed limit at the ceiling, no pauses (the behaviour before
    /// adaptation, kept for comparison and for endpoints that need it).
    adaptive: bool,
    /// An answer slower than this counts as overload.
    slow: Duration,
    permits: Semaphore,
    state: Mutex<State>,
}

/// A call's place in the endpoint's concurrency; returned on drop.
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
    epoch: u64,
    started: Instant,
}

/// How an attempt went, as far as the endpoint's load goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// Answered (any status that is not overload).
    Served,
    /// 429, 503 or a timeout; with the endpoint's Retry-After, if any.
    Overloaded(Option<Duration>),
}

impl Limiter {
    pub(crate) fn new(ceiling: usize, attempt_timeout: Duration, adaptive: bool) -> Self {
        let ceiling = ceiling.max(1);
        let limit = if adaptive { INITIAL_LIMIT.min(ceiling) } else { ceiling };
        Self {
            ceiling,
            adaptive,
            slow: attempt_timeout / 2,
            permits: Semaphore::new(limit),
            state: Mutex::new(State { limit, window: 0, debt: 0, epoch: 0, slow_start: true, paused_until: None }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current limit (for benches and tests).
    pub(crate) fn limit(&self) -> usize {
        self.state().limit
    }

    /// Waits for a place under the limit and for any pause to pass.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        // Closed never: the semaphore lives as long as the limiter.
        self.permits.acquire().await.expect("limiter semaphore is never closed").forget();
        loop {
            let paused = self.state().paused_until.filter(|t| *t > Instant::now());
            match paused {
                Some(until) => tokio::time::sleep_until(until.into()).await,
                None => break,
            }
        }
        Permit { limiter: self, epoch: self.state().epoch, started: Instant::now() }
    }

    fn grow(&self, s: &mut State) {
        if s.limit >= self.ceiling {
            return;
        }
        if !s.slow_start {
            s.window += 1;
            if s.window < s.limit {
                return;
            }
        }
        s.window = 0;
        s.limit += 1;
        if s.debt > 0 {
            s.debt -= 1;
        } else {
            self.permits.add_permits(1);
        }
    }

    fn cut(&self, s: &mut State) {
        s.slow_start = false;
        s.window = 0;
        s.epoch += 1;
        let target = (s.limit / 2).max(1);
        let by = s.limit - target;
        s.limit = target;
        let taken = self.permits.forget_permits(by);
        s.debt += by - taken;
    }
}

impl Permit<'_> {
    /// Notes how the attempt went; the permit goes back when dropped.
    pub(crate) fn done(self, load: Load) {
        let limiter = self.limiter;
        if !limiter.adaptive {
            return;
        }
        let mut s = limiter.state();
        let overloaded = match load {
            Load::Overloaded(retry_after) => {
                if let Some(wait) = retry_after {
                    let until = Instant::now() + wait;
                    s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
                }
                true
            }
            Load::Served => self.started.elapsed() > limiter.slow,
        };
        if !overloaded {
            limiter.grow(&mut s);
        } else if self.epoch == s.epoch {
            limiter.cut(&mut s);
            tracing::debug!(limit = s.limit, "model endpoint overloaded; concurrency cut");
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut s = self.limiter.state();
        if s.debt > 0 {
            s.debt -= 1;
        } else {
            self.limiter.permits.add_permits(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(120);

    #[tokio::test]
    async fn grows_to_the_ceiling_and_halves_once_per_window() {
        let l = Limiter::new(20, TIMEOUT, true);
        assert_eq!(l.limit(), 8);
        for _ in 0..30 {
            l.acquire().await.done(Load::Served);
        }
        assert_eq!(l.limit(), 20, "slow start reaches the ceiling and stops there");
        // Ten calls in flight, all overloaded: one cut, not ten.
        let mut flight = Vec::new();
        for _ in 0..10 {
            flight.push(l.acquire().await);
        }
        for p in flight {
            p.done(Load::Overloaded(None));
        }
        assert_eq!(l.limit(), 10);
        // Additive from here: ten successes for the next step up.
        for _ in 0..9 {
            l.acquire().await.done(Load::Served);
        }
        assert_eq!(l.limit(), 10);
        l.acquire().await.done(Load::Served);
        assert_eq!(l.limit(), 11);
    }

    #[tokio::test]
    async fn a_cut_below_the_calls_in_flight_holds_new_calls_back() {
        let l = Limiter::new(4, TIMEOUT, true);
        let held: Vec<_> = futures_like_acquire(&l, 4).await;
        let mut held = held.into_iter();
        held.next().unwrap().done(Load::Overloaded(None));
        assert_eq!(l.limit(), 2);
        // Three still in flight, limit two: one more must come back before anyone gets in.
        drop(held.next());
        assert!(tokio::time::timeout(Duration::from_millis(20), l.acquire()).await.is_err());
        drop(held.next());
        assert!(tokio::time::timeout(Duration::from_millis(20), l.acquire()).await.is_ok());
    }

    #[tokio::test]
    async fn retry_after_pauses_every_caller() {
        let l = Limiter::new(4, TIMEOUT, true);
        l.acquire().await.done(Load::Overloaded(Some(Duration::from_millis(200))));
        let started = Instant::now();
        drop(l.acquire().await);
        assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_fixed_limiter_stays_at_its_ceiling() {
        let l = Limiter::new(6, TIMEOUT, false);
        assert_eq!(l.limit(), 6);
        l.acquire().await.done(Load::Overloaded(Some(Duration::from_secs(60))));
        assert_eq!(l.limit(), 6);
        assert!(tokio::time::timeout(Duration::from_millis(50), l.acquire()).await.is_ok(), "no pause either");
    }

    async fn futures_like_acquire(l: &Limiter, n: usize) -> Vec<Permit<'_>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(l.acquire().await);
        }
        v
    }
}
