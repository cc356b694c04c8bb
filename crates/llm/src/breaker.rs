//! A circuit breaker per endpoint: an endpoint that refuses its callers is
//! broken for every trajectory, so calls fail at once with
//! [`LlmError::EndpointBroken`] (naming the role and the endpoint) instead of
//! each trajectory paying for its own refusal. 401/403 (a wrong key) and 404
//! (a wrong model name or path) open the breaker at once: no request can fix
//! them. 400 may be one request's fault (a context too long), so it opens the
//! breaker only after `breaker_threshold` in a row with no success in between.
//! After `breaker_cooldown_secs` one call is let through as a probe; a success
//! closes the breaker again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::LlmError;

/// Statuses that say the endpoint refuses the request itself, whatever it holds.
fn is_refusal(status: u16) -> bool {
    matches!(status, 400 | 401 | 403 | 404)
}

/// Refusals that no request can fix: the key or the model name is wrong.
fn is_misconfigured(status: u16) -> bool {
    matches!(status, 401 | 403 | 404)
}

#[derive(Debug, Default)]
struct State {
    /// Refusals in a row.
    refusals: u32,
    /// The last refusal (status, body excerpt).
    last: Option<(u16, String)>,
    /// While set and in the future, the breaker is open.
    open_until: Option<Instant>,
}

/// The breaker of one endpoint, shared by every clone of its client.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self { threshold: threshold.max(1), cooldown, state: Mutex::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Some(error)` while the breaker is open: the call is not sent. Once the
    /// cool-down passed, one caller gets through as the probe (the breaker
    /// stays open for the others until the probe's outcome is known).
    pub(crate) fn check(&self, role: &str, url: &str) -> Option<LlmError> {
        let mut s = self.state();
        let until = s.open_until?;
        if Instant::now() >= until {
            s.open_until = Some(Instant::now() + self.cooldown);
            return None;
        }
        let (status, body) = s.last.clone().unwrap_or_default();
        Some(LlmError::EndpointBroken { role: role.to_string(), url: url.to_string(), status, body })
    }

    /// Notes the outcome of one attempt; returns the breaker's error when this
    /// attempt opened it.
    pub(crate) fn record(&self, outcome: &Result<(), &LlmError>, role: &str, url: &str) -> Option<LlmError> {
        let mut s = self.state();
        match outcome {
            Ok(()) => {
                *s = State::default();
                None
            }
            Err(LlmError::Status { status, body, .. }) if is_refusal(*status) => {
                s.refusals += 1;
                s.last = Some((*status, body.clone()));
                if s.refusals < self.threshold && !is_misconfigured(*status) {
                    return None;
                }
                let newly = s.open_until.is_none();
                s.open_until = Some(Instant::now() + self.cooldown);
                if newly {
                    tracing::error!(role, url, status, refusals = s.refusals, "model endpoint refuses every call; circuit breaker open");
                }
                Some(LlmError::EndpointBroken { role: role.to_string(), url: url.to_string(), status: *status, body: body.clone() })
            }
            // Outages and overloads are not the endpoint's configuration:
            // they neither open nor close the breaker.
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16) -> LlmError {
        LlmError::Status { status, body: "invalid api key".into(), retry_after: None }
    }

    #[test]
    fn bad_requests_open_it_after_a_run_and_a_wrong_key_at_once() {
        let b = Breaker::new(3, Duration::from_secs(60));
        assert!(b.record(&Err(&refusal(400)), "supervisor", "u").is_none());
        assert!(b.record(&Ok(()), "supervisor", "u").is_none());
        assert!(b.record(&Err(&refusal(400)), "supervisor", "u").is_none());
        assert!(b.record(&Err(&refusal(400)), "supervisor", "u").is_none());
        assert!(b.check("supervisor", "u").is_none(), "still closed after two in a row");
        let opened = b.record(&Err(&refusal(400)), "supervisor", "u").expect("opens on the third");
        assert!(opened.to_string().contains("supervisor model endpoint u refuses every call (last 400"), "{opened}");
        assert!(b.check("supervisor", "u").is_some_and(|e| e.is_endpoint_broken()));

        let b = Breaker::new(3, Duration::from_secs(60));
        let opened = b.record(&Err(&refusal(401)), "research-agent", "u").expect("a wrong key opens it at once");
        assert!(
            opened.to_string().starts_with("research-agent model endpoint u refuses every call (last 401: invalid api key)"),
            "{opened}"
        );
    }

    #[test]
    fn outages_do_not_open_it_and_a_probe_follows_the_cooldown() {
        let b = Breaker::new(1, Duration::ZERO);
        let down = LlmError::Status { status: 503, body: String::new(), retry_after: None };
        assert!(b.record(&Err(&down), "r", "u").is_none());
        assert!(b.check("r", "u").is_none());
        assert!(b.record(&Err(&refusal(404)), "r", "u").is_some());
        // Zero cool-down: the next call is the probe.
        assert!(b.check("r", "u").is_none());
        b.record(&Ok(()), "r", "u");
        assert!(b.check("r", "u").is_none());
    }
}
