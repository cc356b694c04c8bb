//! Batches: many trajectories in flight at once, with progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::StreamExt;
use productresearch_record::{TokenUsage, Trajectory, UserHistory};
use tokio::sync::mpsc;

use crate::caps::Caps;
use crate::machine::Supervisor;
use crate::mesh::Mesh;

/// Progress of a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Trajectories in the batch.
    pub total: u32,
    /// Finished, any termination.
    pub done: u32,
    /// In flight.
    pub running: u32,
    /// Ended without an approved report, or never started.
    pub failed: u32,
    /// Tokens used so far.
    pub usage: TokenUsage,
}

/// One event of a batch.
#[derive(Debug, Clone)]
pub enum BatchEvent {
    /// Progress changed.
    Progress(Progress),
    /// A trajectory finished.
    Trajectory(Box<Trajectory>),
    /// A history could not start a trajectory.
    Failure {
        /// Whose history.
        user_id: String,
        /// Why.
        reason: String,
    },
}

/// Runs `histories` with at most `concurrency` in flight, sending events to
/// `events`. Stops early (dropping the work in flight) when the receiver goes.
pub async fn run<M: Mesh>(
    supervisor: Supervisor<M>,
    histories: Vec<UserHistory>,
    caps: Caps,
    concurrency: usize,
    events: mpsc::Sender<BatchEvent>,
) {
    let started = Arc::new(AtomicU32::new(0));
    let mut progress = Progress { total: histories.len() as u32, ..Progress::default() };
    if events.send(BatchEvent::Progress(progress)).await.is_err() {
        return;
    }
    let mut results = futures::stream::iter(histories)
        .map(|history| {
            let supervisor = supervisor.clone();
            let started = started.clone();
            async move {
                started.fetch_add(1, Ordering::Relaxed);
                let user_id = history.user_id.clone();
                // One trace per trajectory, linked to the batch call.
                (user_id, productresearch_runtime::telemetry::genai::own_trace(supervisor.synthesize(history, caps, None)).await)
            }
        })
        .buffer_unordered(concurrency.max(1));
    loop {
        // A caller that goes away cancels the batch at once: dropping `results`
        // drops every trajectory in flight, which closes their research streams
        // and so stops the agents' model and tool calls.
        let next = tokio::select! {
            next = results.next() => next,
            _ = events.closed() => return,
        };
        let Some((user_id, result)) = next else { break };
        progress.done += 1;
        let event = match result {
            Ok(t) => {
                progress.usage += t.usage();
                if !t.approved() {
                    progress.failed += 1;
                }
                BatchEvent::Trajectory(Box::new(t))
            }
            Err(e) => {
                progress.failed += 1;
                BatchEvent::Failure { user_id, reason: e.to_string() }
            }
        };
        progress.running = started.load(Ordering::Relaxed) - progress.done;
        if events.send(event).await.is_err() || events.send(BatchEvent::Progress(progress)).await.is_err() {
            return;
        }
    }
}
