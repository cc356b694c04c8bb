//! Where trajectory records live: an append-only event log per trajectory,
//! in a local folder (default) or an object store.
//!
//! Both backends make each event durable as a whole or not at all:
//!
//! - **Local folder** (`<dir>/<trajectory_id>.jsonl`): one JSON object per line,
//!   written with one `write` and flushed to the kernel before the next step
//!   starts, so a SIGKILL of the supervisor loses nothing already recorded. A
//!   line only counts once its `\n` is on disk; a torn tail (a power cut in the
//!   middle of a write) is detected on open — an unterminated or unparsable
//!   line, or a sequence gap — and cut off. `fsync` per event is optional
//!   ([`Fsync`]); by default the file is synced when the trajectory ends.
//! - **Object store** (`object_store` crate: in-memory, local files, or S3 and
//!   S3-compatible stores with the `s3` feature, on by default): one object per event, `<prefix>/<trajectory_id>/<seq>.json`.
//!   A put is atomic, so there is no torn write; the log is the objects read in
//!   order up to the first gap.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use productresearch_record::TrajectoryEvent;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// When the local log is fsynced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    /// After every event: survives a machine crash, costs a disk flush per step.
    Always,
    /// When the trajectory ends: every event survives a killed process (it is
    /// in the kernel's page cache); a machine crash may lose the unsynced tail,
    /// which is then resumed from the last event that made it.
    #[default]
    OnEnd,
}

/// Opens the logs of trajectories.
#[tonic::async_trait]
pub trait RecordStore: Send + Sync + 'static {
    /// Opens the log of `trajectory_id`: the events recorded so far (a torn
    /// tail already removed) and a writer that appends after them.
    async fn open(&self, trajectory_id: &str) -> Result<(Vec<TrajectoryEvent>, Box<dyn EventLog>), Error>;
}

/// One trajectory's append-only log.
#[tonic::async_trait]
pub trait EventLog: Send {
    /// Appends `event`; when this returns, the event survives a killed process.
    async fn append(&mut self, event: &TrajectoryEvent) -> Result<(), Error>;
    /// Drops every event from position `keep` on (a step whose verdict was
    /// never recorded, before it is proposed again).
    async fn truncate(&mut self, keep: usize) -> Result<(), Error>;
    /// Makes everything appended durable.
    async fn sync(&mut self) -> Result<(), Error>;
}

/// Picks the store for a config: `url` (`memory://`, `file:///abs/path`,
/// `s3://bucket/prefix` with the `s3` feature) or else the local folder `dir`.
/// Replicas that share an S3 bucket share their records: a stream reopened on
/// another replica resumes there.
pub fn from_config(dir: &Path, url: Option<&str>, fsync: Fsync) -> Result<Arc<dyn RecordStore>, Error> {
    match url {
        None => Ok(Arc::new(LocalStore { dir: dir.to_path_buf(), fsync })),
        Some(url) => {
            let parsed = url::Url::parse(url).map_err(|e| Error::Config(format!("records_url {url:?}: {e}")))?;
            // S3 settings come from the usual variables (AWS_ENDPOINT,
            // AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
            // AWS_ALLOW_HTTP, ...); other schemes ignore them.
            let aws = std::env::vars().filter(|(k, _)| k.starts_with("AWS_")).map(|(k, v)| (k.to_ascii_lowercase(), v));
            let (store, prefix) =
                object_store::parse_url_opts(&parsed, aws).map_err(|e| Error::Config(format!("records_url {url:?}: {e}")))?;
            Ok(Arc::new(ObjectRecordStore::new(Arc::from(store), prefix)))
        }
    }
}

// ---- local folder -------------------------------------------------------

/// `<dir>/<trajectory_id>.jsonl`.
pub struct LocalStore {
    dir: PathBuf,
    fsync: Fsync,
}

impl LocalStore {
    /// A store in `dir`.
    pub fn new(dir: impl Into<PathBuf>, fsync: Fsync) -> Self {
        Self { dir: dir.into(), fsync }
    }
}

/// The open file of one trajectory. Every operation that waits for the disk
/// is one blocking call on tokio's blocking pool: with a thousand
/// trajectories in flight, tokio's async file (a pool round trip per write,
/// another per flush) was most of the log's cost and grew the pool to
/// hundreds of threads. Appends without fsync are written inline.
struct LocalLog {
    path: PathBuf,
    /// Held by the blocking call while one runs; `None` after a call was
    /// cancelled midway, which ends the log's use.
    file: Option<std::fs::File>,
    /// Byte offset where each event's line ends.
    ends: Vec<u64>,
    fsync: Fsync,
}

impl LocalLog {
    /// Runs `op` on the file in the blocking pool.
    async fn with_file<T: Send + 'static>(
        &mut self,
        op: impl FnOnce(&mut std::fs::File) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let path = self.path.display().to_string();
        let io = |source| Error::Record { path: path.clone(), source };
        let mut file = self.file.take().ok_or_else(|| io(std::io::Error::other("an earlier write was cancelled midway")))?;
        let (file, result) = tokio::task::spawn_blocking(move || {
            let result = op(&mut file);
            (file, result)
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?;
        self.file = Some(file);
        result.map_err(io)
    }
}

/// The complete, in-order events at the head of `bytes` and the byte offset
/// each one ends at. Stops at the first line that is unterminated, does not
/// parse, or breaks the sequence: that line and everything after it is a torn
/// tail.
pub fn recover(bytes: &[u8]) -> (Vec<TrajectoryEvent>, Vec<u64>) {
    let mut events = Vec::new();
    let mut ends = Vec::new();
    let mut at = 0usize;
    while let Some(nl) = bytes[at..].iter().position(|&b| b == b'\n') {
        let line = &bytes[at..at + nl];
        match serde_json::from_slice::<TrajectoryEvent>(line) {
            Ok(e) if e.seq == events.len() as u64 => events.push(e),
            _ => break,
        }
        at += nl + 1;
        ends.push(at as u64);
    }
    (events, ends)
}

/// Opens (creating) `path`, reads what is recorded and cuts a torn tail off
/// (synced to disk when `sync`, as every append then is).
fn open_local(dir: &Path, path: &Path, sync: bool) -> std::io::Result<(std::fs::File, Vec<TrajectoryEvent>, Vec<u64>)> {
    std::fs::create_dir_all(dir)?;
    let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let (events, ends) = recover(&bytes);
    let good = ends.last().copied().unwrap_or(0);
    if good < bytes.len() as u64 {
        tracing::warn!(path = %path.display(), kept = events.len(), dropped_bytes = bytes.len() as u64 - good, "record had a torn tail; cut it off");
        file.set_len(good)?;
        if sync {
            file.sync_all()?;
        }
    }
    file.seek(std::io::SeekFrom::Start(good))?;
    Ok((file, events, ends))
}

#[tonic::async_trait]
impl RecordStore for LocalStore {
    async fn open(&self, trajectory_id: &str) -> Result<(Vec<TrajectoryEvent>, Box<dyn EventLog>), Error> {
        let path = self.dir.join(format!("{trajectory_id}.jsonl"));
        let io = |source| Error::Record { path: path.display().to_string(), source };
        let (file, events, ends) = if self.fsync == Fsync::Always {
            // May wait for the disk (a torn tail is cut and synced): on the blocking pool.
            let (dir, at) = (self.dir.clone(), path.clone());
            tokio::task::spawn_blocking(move || open_local(&dir, &at, true)).await.map_err(|e| io(std::io::Error::other(e)))?.map_err(io)?
        } else {
            // Page-cache work, as appends are without `fsync = always`:
            // inline. Through the pool, 1,000 trajectories starting at once
            // grew it by hundreds of threads, all contending for the folder.
            open_local(&self.dir, &path, false).map_err(io)?
        };
        Ok((events, Box::new(LocalLog { path, file: Some(file), ends, fsync: self.fsync })))
    }
}

#[tonic::async_trait]
impl EventLog for LocalLog {
    async fn append(&mut self, event: &TrajectoryEvent) -> Result<(), Error> {
        let mut line = serde_json::to_vec(event).expect("events serialise");
        line.push(b'\n');
        let len = line.len() as u64;
        // One write of the whole line: a killed process leaves it whole or absent.
        if self.fsync == Fsync::Always {
            // Waits for the disk: on the blocking pool.
            self.with_file(move |file| {
                file.write_all(&line)?;
                file.sync_data()
            })
            .await?;
        } else {
            // Into the page cache, a few microseconds: inline. A trip through
            // the blocking pool per event cost more (two thread switches each)
            // than the write, ~5 % of the CPU with 1,000 trajectories in flight.
            let path = &self.path;
            let file = self.file.as_mut().ok_or_else(|| Error::Record {
                path: path.display().to_string(),
                source: std::io::Error::other("an earlier write was cancelled midway"),
            })?;
            file.write_all(&line).map_err(|source| Error::Record { path: path.display().to_string(), source })?;
        }
        self.ends.push(self.ends.last().copied().unwrap_or(0) + len);
        Ok(())
    }

    async fn truncate(&mut self, keep: usize) -> Result<(), Error> {
        if keep >= self.ends.len() {
            return Ok(());
        }
        let at = if keep == 0 { 0 } else { self.ends[keep - 1] };
        self.with_file(move |file| {
            file.set_len(at)?;
            file.seek(std::io::SeekFrom::Start(at))?;
            file.sync_all()
        })
        .await?;
        self.ends.truncate(keep);
        Ok(())
    }

    async fn sync(&mut self) -> Result<(), Error> {
        self.with_file(|file| file.sync_all()).await
    }
}

// ---- object store -------------------------------------------------------

/// One object per event under `<prefix>/<trajectory_id>/`.
pub struct ObjectRecordStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
}

impl ObjectRecordStore {
    /// A record store in `store` under `prefix`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: ObjectPath) -> Self {
        Self { store, prefix }
    }
}

struct ObjectLog {
    store: Arc<dyn ObjectStore>,
    dir: ObjectPath,
    len: usize,
}

fn object_error(e: object_store::Error) -> Error {
    Error::Store(e.to_string())
}

/// Zero-padded so the store lists events in order.
fn event_name(seq: u64) -> String {
    format!("{seq:010}.json")
}

#[tonic::async_trait]
impl RecordStore for ObjectRecordStore {
    async fn open(&self, trajectory_id: &str) -> Result<(Vec<TrajectoryEvent>, Box<dyn EventLog>), Error> {
        let dir = self.prefix.clone().join(trajectory_id);
        let mut names: Vec<ObjectPath> = self.store.list(Some(&dir)).map_ok(|m| m.location).try_collect().await.map_err(object_error)?;
        names.sort();
        let mut events = Vec::new();
        for name in names {
            if name.filename() != Some(event_name(events.len() as u64).as_str()) {
                break;
            }
            let bytes = self.store.get(&name).await.map_err(object_error)?.bytes().await.map_err(object_error)?;
            match serde_json::from_slice::<TrajectoryEvent>(&bytes) {
                Ok(e) if e.seq == events.len() as u64 => events.push(e),
                _ => break,
            }
        }
        let len = events.len();
        let mut log = ObjectLog { store: self.store.clone(), dir, len: usize::MAX };
        // Objects after a gap are unreachable leftovers; remove them so a
        // later append cannot land next to them.
        log.truncate(len).await?;
        log.len = len;
        Ok((events, Box::new(log)))
    }
}

#[tonic::async_trait]
impl EventLog for ObjectLog {
    async fn append(&mut self, event: &TrajectoryEvent) -> Result<(), Error> {
        let body = serde_json::to_vec(event).expect("events serialise");
        let path = self.dir.clone().join(event_name(event.seq).as_str());
        self.store.put(&path, body.into()).await.map_err(object_error)?;
        self.len = event.seq as usize + 1;
        Ok(())
    }

    async fn truncate(&mut self, keep: usize) -> Result<(), Error> {
        if keep >= self.len {
            return Ok(());
        }
        let names: Vec<ObjectPath> = self.store.list(Some(&self.dir)).map_ok(|m| m.location).try_collect().await.map_err(object_error)?;
        for name in names {
            let seq = name.filename().and_then(|f| f.strip_suffix(".json")).and_then(|n| n.parse::<usize>().ok());
            if seq.is_none_or(|s| s >= keep) {
                self.store.delete(&name).await.map_err(object_error)?;
            }
        }
        self.len = keep;
        Ok(())
    }

    async fn sync(&mut self) -> Result<(), Error> {
        // Every put is durable when it returns.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::{EventBody, Termination, TerminationReason, Trajectory};

    fn events(n: usize) -> Vec<TrajectoryEvent> {
        let mut t = Trajectory::new("t-x", "u");
        for i in 0..n {
            t.push(1, EventBody::Termination(Termination::new(TerminationReason::Approved, format!("event {i}"))));
        }
        t.events
    }

    #[test]
    fn torn_tails_are_cut_at_the_last_whole_line() {
        let mut bytes = Vec::new();
        for e in events(3) {
            bytes.extend(serde_json::to_vec(&e).unwrap());
            bytes.push(b'\n');
        }
        let whole = bytes.len();
        // A half-written fourth line.
        bytes.extend_from_slice(br#"{"seq":3,"timestamp":"2026"#);
        let (got, ends) = recover(&bytes);
        assert_eq!(got.len(), 3);
        assert_eq!(*ends.last().unwrap(), whole as u64);
        // A line without its newline does not count even if it parses.
        let (got, _) = recover(&bytes[..whole - 1]);
        assert_eq!(got.len(), 2);
        // A garbled middle line ends the log there.
        let mut garbled = bytes[..whole].to_vec();
        let second = ends[0] as usize;
        garbled[second + 2] = b'#';
        assert_eq!(recover(&garbled).0.len(), 1);
    }

    async fn round_trip(store: &dyn RecordStore) {
        let all = events(4);
        let (got, mut log) = store.open("t-x").await.unwrap();
        assert!(got.is_empty());
        for e in &all[..3] {
            log.append(e).await.unwrap();
        }
        drop(log);
        let (got, mut log) = store.open("t-x").await.unwrap();
        assert_eq!(got, all[..3]);
        log.truncate(2).await.unwrap();
        log.append(&all[2]).await.unwrap();
        log.append(&all[3]).await.unwrap();
        log.sync().await.unwrap();
        let (got, _) = store.open("t-x").await.unwrap();
        assert_eq!(got, all);
        let (other, _) = store.open("t-y").await.unwrap();
        assert!(other.is_empty());
    }

    #[tokio::test]
    async fn local_folder_reopens_appends_and_truncates() {
        let dir = tempfile::tempdir().unwrap();
        round_trip(&LocalStore::new(dir.path(), Fsync::Always)).await;
        // A torn tail on disk is cut off on open and appending continues after it.
        let path = dir.path().join("t-x.jsonl");
        let mut bytes = std::fs::read(&path).unwrap();
        let len = bytes.len();
        bytes.extend_from_slice(b"{\"seq\":4,");
        std::fs::write(&path, &bytes).unwrap();
        let store = LocalStore::new(dir.path(), Fsync::OnEnd);
        let (got, _) = store.open("t-x").await.unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len as u64);
    }

    #[tokio::test]
    async fn object_store_reopens_appends_and_truncates() {
        let store = ObjectRecordStore::new(Arc::new(object_store::memory::InMemory::new()), ObjectPath::from("records"));
        round_trip(&store).await;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        let local_files = from_config(Path::new("unused"), Some(&url), Fsync::OnEnd).unwrap();
        round_trip(local_files.as_ref()).await;
        assert!(from_config(Path::new("x"), Some("nope://x"), Fsync::OnEnd).is_err());
    }
}
