//! Batches: many trajectories in flight at once, with progress.

use std::collections::HashMap;

use productresearch_record::{TokenUsage, Trajectory, UserHistory};
use productresearch_runtime::telemetry::genai;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::caps::Caps;
use crate::error::Error;
use crate::machine::Supervisor;
use crate::mesh::Mesh;
use crate::scheduler::{Scheduler, Slot};

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
    /// The batch stopped: a model endpoint refuses every call, so no
    /// trajectory can progress. The ones in flight were stopped, their
    /// records stay resumable; the rest were not started.
    Halted(String),
    /// A history could not start a trajectory.
    Failure {
        /// Whose history.
        user_id: String,
        /// Why.
        reason: String,
    },
}

/// Runs `histories` with at most `concurrency` in flight, each trajectory in
/// its own task with a slot from `scheduler`, sending events to `events`.
/// Stops early (aborting the work in flight) when the receiver goes.
pub async fn run<M: Mesh>(
    supervisor: Supervisor<M>,
    scheduler: Scheduler,
    histories: Vec<UserHistory>,
    caps: Caps,
    concurrency: usize,
    events: mpsc::Sender<BatchEvent>,
) {
    // One tool list (and snapshot id) for the whole batch.
    let supervisor = if histories.is_empty() { supervisor } else { supervisor.listing_tools_once().await };
    let mut progress = Progress { total: histories.len() as u32, ..Progress::default() };
    if events.send(BatchEvent::Progress(progress)).await.is_err() {
        return;
    }
    // Dropping the set aborts every trajectory in flight, which closes their
    // research streams and so stops the agents' model and tool calls.
    let mut running = JoinSet::new();
    let mut users = HashMap::new();
    let mut pending = histories.into_iter();
    let concurrency = concurrency.max(1);
    // The batch's one place in the scheduler's queue; kept across turns of
    // the loop so a finished trajectory does not send it to the back.
    let mut admission: Option<std::pin::Pin<Box<dyn std::future::Future<Output = Slot> + Send>>> = None;
    loop {
        if running.is_empty() && pending.len() == 0 {
            break;
        }
        // Ask for a slot only while this batch has room and work: at most one
        // waiter per batch keeps the scheduler's round-robin between callers.
        if admission.is_none() && running.len() < concurrency && pending.len() > 0 {
            let scheduler = scheduler.clone();
            admission = Some(Box::pin(async move { scheduler.admit().await }));
        }
        let next = tokio::select! {
            slot = async { admission.as_mut().expect("guarded").await }, if admission.is_some() => {
                admission = None;
                let history = pending.next().expect("a slot is asked for only with work pending");
                let supervisor = supervisor.clone();
                let user_id = history.user_id.clone();
                let task = running.spawn(productresearch_runtime::context::carry(async move {
                    // One trace per trajectory, linked to the batch call.
                    let result = genai::own_trace(supervisor.synthesize(history, caps, None)).await;
                    drop(slot);
                    result
                }));
                users.insert(task.id(), user_id);
                progress.running = running.len() as u32;
                continue;
            }
            done = running.join_next_with_id(), if !running.is_empty() => done,
            _ = events.closed() => return,
        };
        let Some(joined) = next else { break };
        let (id, result) = match joined {
            Ok((_, Err(Error::EndpointBroken(reason)))) => {
                // Dropping the set on return stops the others mid-step.
                let _ = events.send(BatchEvent::Halted(reason)).await;
                return;
            }
            Ok((id, result)) => (id, result.map_err(|e| e.to_string())),
            Err(e) => (e.id(), Err(format!("the trajectory's task failed: {e}"))),
        };
        let user_id = users.remove(&id).unwrap_or_default();
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
                BatchEvent::Failure { user_id, reason: e }
            }
        };
        progress.running = running.len() as u32;
        if events.send(event).await.is_err() || events.send(BatchEvent::Progress(progress)).await.is_err() {
            return;
        }
    }
}
