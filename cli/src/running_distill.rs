//! Distilling a batch while it runs: the SFT file is rewritten as approved
//! trajectories come in, so the first examples are on disk minutes before the
//! batch ends (on the embedded model the first trajectory is approved about
//! two minutes before the last), and an interrupted run keeps them.
//!
//! Each pass distills every trajectory finished so far, so batch-wide filters
//! (near-duplicates, diversity) see the same set they will see at the end; the
//! final pass after the batch is the one whose files stand. Passes are spaced
//! by ten times the last one's duration (at least [`MIN_GAP`]), so a large
//! batch spends a bounded share of its time re-distilling. The distiller keeps
//! the model reflections it made, so a pass does not ask for them again.

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
/// A pass may take at most this share of the time (one in ten).
const GAP_PER_PASS: u32 = 10;

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

/// Distills all trajectories received so far whenever an approved one has
/// come in since the last pass, spaced as the module says.
async fn passes(
    to: DistillTo,
    mut received: mpsc::UnboundedReceiver<Trajectory>,
    examples: Arc<AtomicUsize>,
    more: impl Fn(&DistillOutcome),
) {
    let mut all: Vec<Trajectory> = Vec::new();
    let mut next = Instant::now();
    loop {
        // Wait for an approved trajectory: only those can add an example.
        loop {
            let Some(t) = received.recv().await else { return };
            let approved = t.approved();
            all.push(t);
            if approved {
                break;
            }
        }
        // Then for the gap, taking in what else finishes meanwhile.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => break,
                t = received.recv() => match t {
                    Some(t) => all.push(t),
                    // The batch is over; its final distillation follows at once.
                    None => return,
                },
            }
        }
        let started = Instant::now();
        match to.distill(&all).await {
            Ok(outcome) => {
                if examples.swap(outcome.examples, Ordering::Relaxed) < outcome.examples {
                    more(&outcome);
                }
            }
            // The final pass reports what is wrong; an early one only waits longer.
            Err(e) => tracing::warn!(error = %e, "distilling the finished trajectories failed; trying again later"),
        }
        next = Instant::now() + (started.elapsed() * GAP_PER_PASS).max(MIN_GAP);
    }
}
