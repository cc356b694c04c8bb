//! The trajectory record as it is written: every event is appended to the
//! trajectory's log (see [`crate::store`]) before the next step starts, and
//! streamed to the caller.

use productresearch_record::{EventBody, Trajectory, TrajectoryEvent};
use tokio::sync::mpsc;

use crate::error::Error;
use crate::store::{EventLog, RecordStore};

/// Appends events to a trajectory, its log and an optional listener.
pub struct Recorder {
    trajectory: Trajectory,
    log: Box<dyn EventLog>,
    listener: Option<mpsc::Sender<TrajectoryEvent>>,
}

/// The caller stopped listening: the trajectory is cancelled.
#[derive(Debug)]
pub struct ListenerGone;

impl Recorder {
    /// Opens the record of `trajectory` (id and user) in `store`, with the
    /// events already recorded under that id, and replays those to the listener
    /// so a caller of a resumed trajectory sees the whole record.
    pub async fn open(
        store: &dyn RecordStore,
        mut trajectory: Trajectory,
        listener: Option<mpsc::Sender<TrajectoryEvent>>,
    ) -> Result<Result<Self, ListenerGone>, Error> {
        let (events, log) = store.open(&trajectory.trajectory_id).await?;
        if let Some(tx) = &listener {
            for e in &events {
                if tx.send(e.clone()).await.is_err() {
                    return Ok(Err(ListenerGone));
                }
            }
        }
        trajectory.events = events;
        Ok(Ok(Self { trajectory, log, listener }))
    }

    /// The record so far.
    pub fn trajectory(&self) -> &Trajectory {
        &self.trajectory
    }

    /// Mutable access for metadata (models, trace id).
    pub fn trajectory_mut(&mut self) -> &mut Trajectory {
        &mut self.trajectory
    }

    /// Drops the events from position `keep` on, in memory and in the log.
    pub async fn truncate(&mut self, keep: usize) -> Result<(), Error> {
        self.log.truncate(keep).await?;
        self.trajectory.events.truncate(keep);
        Ok(())
    }

    /// Appends one event: in memory, to the log, to the listener.
    pub async fn push(&mut self, round: u32, body: EventBody) -> Result<Result<(), ListenerGone>, Error> {
        let event = self.trajectory.push(round, body).clone();
        self.log.append(&event).await?;
        if let Some(tx) = &self.listener
            && tx.send(event).await.is_err()
        {
            return Ok(Err(ListenerGone));
        }
        Ok(Ok(()))
    }

    /// Makes the log durable and returns the record.
    pub async fn finish(mut self) -> Result<Trajectory, Error> {
        self.log.sync().await?;
        Ok(self.trajectory)
    }
}
