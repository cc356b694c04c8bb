//! The trajectory record as it is written: every event is appended to the
//! trajectory's JSONL log and flushed before the next step starts, and streamed
//! to the caller.

use std::path::{Path, PathBuf};

use productresearch_record::{EventBody, Trajectory, TrajectoryEvent};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::error::Error;

/// Appends events to a trajectory, its log file and an optional listener.
pub struct Recorder {
    trajectory: Trajectory,
    path: PathBuf,
    file: tokio::fs::File,
    listener: Option<mpsc::Sender<TrajectoryEvent>>,
}

/// The caller stopped listening: the trajectory is cancelled.
#[derive(Debug)]
pub struct ListenerGone;

impl Recorder {
    /// Starts the record of `trajectory` in `dir` (`<trajectory_id>.jsonl`),
    /// replacing any earlier log of the same id.
    pub async fn create(dir: &Path, trajectory: Trajectory, listener: Option<mpsc::Sender<TrajectoryEvent>>) -> Result<Self, Error> {
        let path = dir.join(format!("{}.jsonl", trajectory.trajectory_id));
        let io = |source| Error::Record { path: path.display().to_string(), source };
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        let file = tokio::fs::File::create(&path).await.map_err(io)?;
        Ok(Self { trajectory, path, file, listener })
    }

    /// The record so far.
    pub fn trajectory(&self) -> &Trajectory {
        &self.trajectory
    }

    /// Mutable access for metadata (models, trace id).
    pub fn trajectory_mut(&mut self) -> &mut Trajectory {
        &mut self.trajectory
    }

    /// Appends one event: in memory, to the log (flushed), to the listener.
    pub async fn push(&mut self, round: u32, body: EventBody) -> Result<Result<(), ListenerGone>, Error> {
        let event = self.trajectory.push(round, body).clone();
        let mut line = serde_json::to_vec(&event).expect("events serialise");
        line.push(b'\n');
        let io = |source| Error::Record { path: self.path.display().to_string(), source };
        self.file.write_all(&line).await.map_err(io)?;
        self.file.flush().await.map_err(io)?;
        if let Some(tx) = &self.listener
            && tx.send(event).await.is_err()
        {
            return Ok(Err(ListenerGone));
        }
        Ok(Ok(()))
    }

    /// Syncs the log to disk and returns the record.
    pub async fn finish(self) -> Result<Trajectory, Error> {
        self.file.sync_all().await.map_err(|source| Error::Record { path: self.path.display().to_string(), source })?;
        Ok(self.trajectory)
    }
}
