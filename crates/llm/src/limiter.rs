//! Adaptive concurrency per endpoint (AIMD), so a rate-limited endpoint is
//! driven at its capacity instead of being hammered into 429s.
//!
//! - The limit starts at the configured ceiling (`max_concurrency`): the
//!   ceiling is what the user expects the endpoint to take, and a model call
//!   lasts seconds, so a TCP-like slow start from a few calls would spend
//!   several round trips of every batch below it (at 1,000 trajectories in
//!   flight and 1–3 s calls, half the batch's wall time).
//! - The first overload is measured rather than guessed: the calls in flight
//!   when it comes back are followed until they end, each one refused takes a
//!   place away as it comes back, and the limit settles at how many of them
//!   the endpoint served (a concurrency limit refuses at once, so a first
//!   burst of 64 against an endpoint that takes 8 is down to 8 places within
//!   a round trip of its refusals, and settles there).
//! - After the first overload the limit grows by one per window of `limit`
//!   successes (additive increase), never above the ceiling. The step back up
//!   to the level the endpoint last refused waits [`PROBE_WINDOWS`] windows:
//!   the probe that finds the endpoint's capacity costs one 429, so it is not
//!   repeated every round trip.
//! - How far a later overload brings the limit down depends on what it says:
//!   - a 429/503 without `Retry-After` is a concurrency limit (a place frees
//!     whenever an answer ends, so the server names no time): the limit
//!     comes down to the calls the endpoint was taking beside the refused
//!     one — the capacity just measured — not to half of it;
//!   - a 429/503 with `Retry-After` is a rate limit (the server knows when
//!     its next token comes): the limit halves, and every caller of the
//!     endpoint waits until then, so no call is sent into a window the
//!     endpoint said it would refuse;
//!   - a timeout, or an answer slower than half the attempt timeout, means
//!     the endpoint is queueing: the limit halves.
//!
//!   Once per window: the overloads of calls that were already in flight
//!   when the limit was cut do not cut it again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// Windows of successes before the limit steps back up to the level the
/// endpoint last refused.
const PROBE_WINDOWS: usize = 8;

#[derive(Debug)]
struct State {
    limit: usize,
    /// Successes since the limit last grew (congestion avoidance).
    window: usize,
    /// Permits to take out of circulation as they come back (the limit was
    /// cut below the calls in flight).
    debt: usize,
    /// Calls holding a permit now.
    in_flight: usize,
    /// The limit at the last overload, until a limit that high is served
    /// through a whole window.
    refused_at: Option<usize>,
    /// Counts the cuts; a call's overload only cuts when no cut happened
    /// since the call started.
    epoch: u64,
    /// No overload seen yet.
    first: bool,
    /// Calls in flight that started in the current epoch.
    epoch_in_flight: usize,
    /// The calls in flight at the first overload, followed to their end.
    probe: Option<Probe>,
    paused_until: Option<Instant>,
}

/// The calls of one epoch still in flight, and how many of its calls the
/// endpoint served.
#[derive(Debug)]
struct Probe {
    epoch: u64,
    in_flight: usize,
    served: usize,
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
    /// Counted in its epoch's calls in flight (past any pause).
    counted: bool,
    started: Instant,
}

/// How an attempt went, as far as the endpoint's load goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// Answered (any status that is not overload).
    Served,
    /// 429 or 503; with the endpoint's Retry-After, if any.
    Refused(Option<Duration>),
    /// No answer within the attempt timeout.
    TimedOut,
}

impl Limiter {
    pub(crate) fn new(ceiling: usize, attempt_timeout: Duration, adaptive: bool) -> Self {
        let ceiling = ceiling.max(1);
        let limit = ceiling;
        Self {
            ceiling,
            adaptive,
            slow: attempt_timeout / 2,
            permits: Semaphore::new(limit),
            state: Mutex::new(State {
                limit,
                window: 0,
                debt: 0,
                in_flight: 0,
                refused_at: None,
                epoch: 0,
                first: true,
                epoch_in_flight: 0,
                probe: None,
                paused_until: None,
            }),
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
        // Held from here, so a caller dropped during the pause gives its
        // place back.
        self.state().in_flight += 1;
        let mut permit = Permit { limiter: self, epoch: 0, counted: false, started: Instant::now() };
        loop {
            let paused = self.state().paused_until.filter(|t| *t > Instant::now());
            match paused {
                Some(until) => tokio::time::sleep_until(until.into()).await,
                None => break,
            }
        }
        let mut s = self.state();
        permit.epoch = s.epoch;
        permit.counted = true;
        s.epoch_in_flight += 1;
        drop(s);
        permit.started = Instant::now();
        permit
    }

    fn grow(&self, s: &mut State) {
        if s.limit >= self.ceiling {
            return;
        }
        if !s.first {
            s.window += 1;
            let patience = if s.refused_at.is_some_and(|r| s.limit + 1 >= r) { PROBE_WINDOWS } else { 1 };
            if s.window < s.limit * patience {
                return;
            }
            // A whole window served at or above the refused level: the
            // endpoint takes more now.
            if s.refused_at.is_some_and(|r| s.limit >= r) {
                s.refused_at = None;
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

    /// Brings the limit down to `target` (at least one, and at least one
    /// below the limit); with `probe`, follows the calls in flight now (the
    /// refused one included) to their end to measure the capacity.
    fn cut(&self, s: &mut State, target: usize, probe: bool) {
        s.refused_at = Some(s.limit);
        s.window = 0;
        s.first = false;
        if probe {
            s.probe = Some(Probe { epoch: s.epoch, in_flight: s.epoch_in_flight, served: 0 });
        }
        s.epoch += 1;
        s.epoch_in_flight = 0;
        let target = target.min(s.limit - 1).max(1);
        self.set(s, target);
    }

    /// Moves the limit to `target`, taking places out of circulation as they
    /// come back when it goes below the calls in flight.
    fn set(&self, s: &mut State, target: usize) {
        if target < s.limit {
            let by = s.limit - target;
            let taken = self.permits.forget_permits(by);
            s.debt += by - taken;
        } else {
            let by = target - s.limit;
            let paid = by.min(s.debt);
            s.debt -= paid;
            self.permits.add_permits(by - paid);
        }
        s.limit = target;
    }

    /// The first overload's calls have all ended: the endpoint served this
    /// many of them at once, so that is its capacity.
    fn settle(&self, s: &mut State, served: usize) {
        let target = served.clamp(1, self.ceiling);
        tracing::debug!(limit = target, "model endpoint's capacity measured at its first overload");
        s.window = 0;
        self.set(s, target);
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
        if load == Load::Served
            && let Some(probe) = s.probe.as_mut().filter(|p| p.epoch == self.epoch)
        {
            probe.served += 1;
        }
        let halved = s.limit / 2;
        let mut probe = false;
        let target = match load {
            Load::Served if self.started.elapsed() <= limiter.slow => None,
            Load::Served | Load::TimedOut => Some(halved),
            Load::Refused(Some(wait)) => {
                let until = Instant::now() + wait;
                s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
                Some(halved)
            }
            // The first: each call of the burst refused later takes one
            // more place away, and the probe settles at what was served.
            Load::Refused(None) if s.first => {
                probe = true;
                Some(s.epoch_in_flight - 1)
            }
            // The others in flight beside this call are what the endpoint took.
            Load::Refused(None) => Some(s.in_flight - 1),
        };
        match target {
            None => limiter.grow(&mut s),
            Some(target) if self.epoch == s.epoch => {
                limiter.cut(&mut s, target, probe);
                tracing::debug!(limit = s.limit, ?load, "model endpoint overloaded; concurrency cut");
            }
            Some(_) if matches!(load, Load::Refused(_)) && s.probe.as_ref().is_some_and(|p| p.epoch == self.epoch) => {
                let target = s.limit.saturating_sub(1).max(1);
                limiter.set(&mut s, target);
            }
            Some(_) => {}
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut s = self.limiter.state();
        s.in_flight -= 1;
        if self.counted {
            if self.epoch == s.epoch {
                s.epoch_in_flight -= 1;
            } else if let Some(probe) = s.probe.as_mut().filter(|p| p.epoch == self.epoch) {
                probe.in_flight -= 1;
                if probe.in_flight == 0 {
                    let served = probe.served;
                    s.probe = None;
                    self.limiter.settle(&mut s, served);
                }
            }
        }
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

    /// `n` calls in flight at once.
    async fn in_flight(l: &Limiter, n: usize) -> Vec<Permit<'_>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(l.acquire().await);
        }
        v
    }

    /// Whether a new call would get in now (a call held back cannot get in
    /// within the wait, whatever the machine's speed).
    async fn gets_in(l: &Limiter) -> bool {
        tokio::time::timeout(Duration::from_millis(20), l.acquire()).await.is_ok()
    }

    fn served(l: &Limiter, n: usize) {
        for _ in 0..n {
            l.acquire().now_or_never().expect("a place is free").done(Load::Served);
        }
    }

    trait NowOrNever: std::future::Future + Sized {
        fn now_or_never(self) -> Option<Self::Output> {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match std::pin::pin!(self).poll(&mut cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            }
        }
    }
    impl<F: std::future::Future> NowOrNever for F {}

    #[test]
    fn starts_at_the_ceiling_and_a_first_burst_settles_at_what_the_endpoint_served() {
        let l = Limiter::new(64, TIMEOUT, true);
        assert_eq!(l.limit(), 64, "no slow start: a batch is not held below its concurrency");
        served(&l, 30);
        assert_eq!(l.limit(), 64);
        // 64 at once against an endpoint that takes 8: it refuses the 56 others at once.
        let mut flight = in_flight(&l, 64).now_or_never().unwrap();
        let taken: Vec<Permit<'_>> = flight.drain(..8).collect();
        let mut refused = flight.into_iter();
        refused.next().unwrap().done(Load::Refused(None));
        assert_eq!(l.limit(), 63, "the others in flight may have been taken");
        for p in refused {
            p.done(Load::Refused(None));
        }
        assert_eq!(l.limit(), 8, "each refusal of the burst takes a place away");
        for p in taken {
            p.done(Load::Served);
        }
        assert_eq!(l.limit(), 8, "settled at the calls the endpoint served");
        let eight = in_flight(&l, 8).now_or_never().expect("eight places");
        assert!(l.acquire().now_or_never().is_none(), "and no ninth");
        drop(eight);
        // Additive from here: eight successes for the next step up.
        served(&l, 7);
        assert_eq!(l.limit(), 8);
        served(&l, 1);
        assert_eq!(l.limit(), 9);
    }

    #[test]
    fn a_concurrency_refusal_cuts_to_what_the_endpoint_took_and_probes_again_rarely() {
        let l = Limiter::new(64, TIMEOUT, true);
        // A first burst of 13 of which the endpoint took 12.
        let mut flight = in_flight(&l, 13).now_or_never().unwrap();
        flight.pop().unwrap().done(Load::Refused(None));
        for p in flight {
            p.done(Load::Served);
        }
        assert_eq!(l.limit(), 12);
        // Additive up to 13 (12 successes); then 13 in flight, the 13th refused
        // without Retry-After: the endpoint took the 12 others, so 12, not 6.
        served(&l, 12);
        assert_eq!(l.limit(), 13);
        let mut flight = in_flight(&l, 13).now_or_never().unwrap();
        flight.pop().unwrap().done(Load::Refused(None));
        assert_eq!(l.limit(), 12);
        // The others of that window answer; no second cut.
        flight.pop().unwrap().done(Load::Refused(None));
        for p in flight {
            p.done(Load::Served);
        }
        assert_eq!(l.limit(), 12);
        // Back up to the refused 13 only after PROBE_WINDOWS windows of 12
        // (the eleven answers above count).
        served(&l, 12 * PROBE_WINDOWS - 11 - 1);
        assert_eq!(l.limit(), 12, "one probe per {PROBE_WINDOWS} windows, not per round trip");
        served(&l, 1);
        assert_eq!(l.limit(), 13);
        // 13 served through a whole window: the endpoint takes more now, growth is additive again.
        served(&l, 13 * PROBE_WINDOWS);
        assert_eq!(l.limit(), 14);
        served(&l, 14);
        assert_eq!(l.limit(), 15);
    }

    #[test]
    fn a_refusal_with_few_others_in_flight_cuts_to_them() {
        let l = Limiter::new(64, TIMEOUT, true);
        in_flight(&l, 1).now_or_never().unwrap().pop().unwrap().done(Load::TimedOut);
        assert_eq!(l.limit(), 32, "a timeout halves");
        let mut flight = in_flight(&l, 3).now_or_never().unwrap();
        flight.pop().unwrap().done(Load::Refused(None));
        assert_eq!(l.limit(), 2, "two others were in flight");
    }

    #[tokio::test]
    async fn a_cut_below_the_calls_in_flight_holds_new_calls_back() {
        let l = Limiter::new(4, TIMEOUT, true);
        let mut held = in_flight(&l, 4).await.into_iter();
        held.next().unwrap().done(Load::TimedOut);
        assert_eq!(l.limit(), 2);
        // Three still in flight, limit two: one more must come back before anyone gets in.
        drop(held.next());
        assert!(!gets_in(&l).await);
        drop(held.next());
        assert!(gets_in(&l).await);
    }

    #[tokio::test]
    async fn a_retry_after_halves_and_pauses_every_caller() {
        let l = Limiter::new(64, TIMEOUT, true);
        l.acquire().await.done(Load::TimedOut);
        assert_eq!(l.limit(), 32);
        let mut flight = in_flight(&l, 5).await;
        let other = flight.pop().unwrap();
        flight.pop().unwrap().done(Load::Refused(Some(Duration::from_secs(60))));
        assert_eq!(l.limit(), 16, "halved, not cut to the four others in flight");
        drop(flight);
        assert!(!gets_in(&l).await, "paused although under the limit");
        // A caller that gives up during the pause gives its place back.
        drop(other);
        assert_eq!(l.state().in_flight, 0);
    }

    #[tokio::test]
    async fn a_fixed_limiter_stays_at_its_ceiling() {
        let l = Limiter::new(6, TIMEOUT, false);
        assert_eq!(l.limit(), 6);
        l.acquire().await.done(Load::Refused(Some(Duration::from_secs(60))));
        assert_eq!(l.limit(), 6);
        assert!(gets_in(&l).await, "no pause either");
    }
}
