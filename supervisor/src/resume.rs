//! How long a trajectory waits out failures that may pass.
//!
//! A transient failure (by the mesh's one definition,
//! `productresearch_runtime::failure`) never ends a trajectory while its
//! patience lasts: the call is retried, the research session re-opened from
//! the record, with capped exponential backoff. Patience is time without a
//! newly recorded event, so an outage longer than a pod restart is ridden
//! out, while a service that stays down for good still ends the trajectory —
//! with a transient failure, which the next run resumes.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Retry and resume settings (config `[resume]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Resume {
    /// Seconds without a newly recorded event that a trajectory waits out
    /// transient failures before it ends with one (resumed by the next run).
    /// Longer than a pod restart.
    pub patience_secs: u64,
    /// First wait, in milliseconds.
    pub backoff_ms: u64,
    /// Longest wait, in milliseconds.
    pub max_backoff_ms: u64,
    /// Research sessions that broke off after making progress, in all, before
    /// the trajectory ends anyway: an agent that breaks again and again is not
    /// resumed forever (sessions without progress are bounded by patience).
    pub max_sessions: u32,
}

impl Default for Resume {
    fn default() -> Self {
        Self { patience_secs: 600, backoff_ms: 100, max_backoff_ms: 5_000, max_sessions: 48 }
    }
}

impl Resume {
    /// Checks the settings at start; one line on error.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_sessions == 0 {
            return Err("supervisor: resume.max_sessions must be > 0".into());
        }
        if self.backoff_ms == 0 || self.max_backoff_ms < self.backoff_ms {
            return Err("supervisor: resume.backoff_ms must be > 0 and at most resume.max_backoff_ms".into());
        }
        Ok(())
    }

    fn wait(&self, attempt: u32) -> Duration {
        let ms = self.backoff_ms.saturating_mul(1u64 << attempt.min(16)).min(self.max_backoff_ms);
        Duration::from_millis(ms)
    }

    /// A fresh patience clock.
    pub(crate) fn clock(&self) -> Patience {
        Patience { resume: *self, since: None, attempt: 0 }
    }
}

/// Why a wait did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The patience ran out.
    Patience,
    /// The caller's deadline passes before the next try could be made: the
    /// trajectory is the caller's to resume, not a failure.
    Deadline,
}

/// The patience of one trajectory: started by its first failure, reset by
/// progress.
#[derive(Debug)]
pub(crate) struct Patience {
    resume: Resume,
    since: Option<Instant>,
    attempt: u32,
}

impl Patience {
    /// A new event was recorded: the clock starts over.
    pub(crate) fn progress(&mut self) {
        self.since = None;
        self.attempt = 0;
    }

    /// Waits before the next try after a transient failure.
    pub(crate) async fn wait(&mut self) -> Result<(), GaveUp> {
        let since = *self.since.get_or_insert_with(Instant::now);
        if since.elapsed() >= Duration::from_secs(self.resume.patience_secs) {
            return Err(GaveUp::Patience);
        }
        let wait = self.resume.wait(self.attempt);
        if productresearch_runtime::context::remaining().is_some_and(|left| left <= wait) {
            return Err(GaveUp::Deadline);
        }
        tokio::time::sleep(wait).await;
        self.attempt += 1;
        Ok(())
    }

    /// Tries made since the clock started.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn patience_is_time_without_progress() {
        let resume = Resume { patience_secs: 0, ..Resume::default() };
        assert_eq!(resume.clock().wait().await, Err(GaveUp::Patience));
        let resume = Resume { patience_secs: 60, backoff_ms: 1, max_backoff_ms: 2, max_sessions: 1 };
        let mut clock = resume.clock();
        for _ in 0..5 {
            clock.wait().await.unwrap();
        }
        assert_eq!(clock.attempts(), 5);
        clock.progress();
        assert_eq!(clock.attempts(), 0);
    }

    #[tokio::test]
    async fn a_passing_caller_deadline_stops_the_wait() {
        let resume = Resume { backoff_ms: 1_000, max_backoff_ms: 1_000, ..Resume::default() };
        let deadline = Some(Instant::now() + Duration::from_millis(10));
        let gave_up = productresearch_runtime::context::with_deadline(deadline, async { resume.clock().wait().await }).await;
        assert_eq!(gave_up, Err(GaveUp::Deadline));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let r = Resume::default();
        assert_eq!(r.wait(0), Duration::from_millis(100));
        assert_eq!(r.wait(3), Duration::from_millis(800));
        assert_eq!(r.wait(20), Duration::from_millis(5_000));
    }
}
