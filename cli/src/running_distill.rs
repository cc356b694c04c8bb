//! Distilling a batch while it runs: the SFT file is rewritten as approved
//! trajectories come in, so the first examples are on disk minutes before the
//! batch ends (on the embedded model the first trajectory is approved about
//! two minutes before the last), and an interrupted run keeps them.
//!
//! Each pass distills every trajectory finished so far, so batch-wide filters
//! (near-duplicates, diversity) see the same set they will see at the end; the
//! final pass after the batch is the one whose files stand. A pass waits for
//! the approved trajectories to grow by a quarter since the last one (at least
//! one more, and at least [`MIN_GAP`] later), so a batch of N is distilled
//! about 5 N trajectories' worth in all, not N² / 2. Not spaced by time: a
//! pass that waits minutes for model reflections on a busy local model (run
//! 41) would have stopped all later ones. The distiller keeps the model
//! reflections it made, so a pass does not ask for them again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use productresearch_record::Trajectory;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::pipeline::{DistillOutcome, DistillTo};

/// Shortest time between two passes.
const MIN_GAP: Duration = Duration::from_secs(5);
/// A pass waits for the approved trajectories to grow by 1 / GROWTH.
const GROWTH: usize = 4;

/// The background distiller of one batch.
pub struct RunningDistill {
    finished: mpsc::UnboundedSender<Trajectory>,
    examples: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl RunningDistill {
    /// Starts distilling into `to` as trajectories are [`Self::finished`];
    /// `more` is called when a pass wrote more examples than the one before.
    pub fn start(to: DistillTo, more: impl Fn(&DistillOutcome) + Send + 'static) -> Self {
        let (finished, received) = mpsc::unbounded_channel();
        let examples = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(passes(to, received, examples.clone(), more));
        Self { finished, examples, task }
    }

    /// Hands over a trajectory that ended.
    pub fn finished(&self, trajectory: &Trajectory) {
        // The task ends only after `wait`, so the send cannot fail before.
        let _ = self.finished.send(trajectory.clone());
    }

    /// Examples in the SFT file after the latest pass.
    pub fn examples(&self) -> usize {
        self.examples.load(Ordering::Relaxed)
    }

    /// Stops taking trajectories and waits for a pass under way to end, so the
    /// final distillation does not race it for the same files.
    pub async fn wait(self) {
        drop(self.finished);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the running distillation stopped");
        }
    }
}

/// Distills all trajectories received so far whenever enough approved ones
/// have come in since the last pass, as the module says.
async fn passes(
    to: DistillTo,
    mut received: mpsc::UnboundedReceiver<Trajectory>,
    examples: Arc<AtomicUsize>,
    more: impl Fn(&DistillOutcome),
) {
    let mut all: Vec<Trajectory> = Vec::new();
    let (mut approved, mut distilled) = (0, 0);
    let mut next = Instant::now();
    loop {
        // Wait for enough new approved trajectories: only those add examples.
        while !due(approved, distilled) {
            let Some(t) = received.recv().await else { return };
            approved += usize::from(t.approved());
            all.push(t);
        }
        // Then for the gap, taking in what else finishes meanwhile.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => break,
                t = received.recv() => match t {
                    Some(t) => {
                        approved += usize::from(t.approved());
                        all.push(t);
                    }
                    // The batch is over; its final distillation follows at once.
                    None => return,
                },
            }
        }
        distilled = approved;
        match to.distill(&all).await {
            Ok(outcome) => {
                if examples.swap(outcome.examples, Ordering::Relaxed) < outcome.examples {
                    more(&outcome);
                }
            }
            // The final pass reports what is wrong; an early one only waits longer.
            Err(e) => tracing::warn!(error = %e, "distilling the finished trajectories failed; trying again later"),
        }
        next = Instant::now() + MIN_GAP;
    }
}

/// Whether `approved` trajectories are enough for a pass after one of
/// `distilled`.
fn due(approved: usize, distilled: usize) -> bool {
    approved >= distilled + (distilled / GROWTH).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_follow_the_approved_count_geometrically() {
        assert!(due(1, 0) && !due(1, 1) && due(2, 1) && due(4, 3));
        assert!(!due(111, 90) && due(112, 90));
        // One approval at a time: every one of a small batch gets its pass,
        // and a large batch re-distills a bounded multiple of itself.
        let (mut distilled, mut passes, mut work) = (0, Vec::new(), 0);
        for approved in 1..=1_000 {
            if due(approved, distilled) {
                distilled = approved;
                passes.push(approved);
                work += approved;
            }
        }
        assert_eq!(passes[..4], [1, 2, 3, 4]);
        assert!(work <= 5 * 1_000, "{work} trajectories distilled in {} passes", passes.len());
    }
}
