//! The live count of checked steps that `productresearch run` shows while
//! trajectories take minutes on a small model: the verdicts recorded in the
//! trajectory logs so far.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How a verdict event is tagged in a record line.
const VERDICT_TAG: &str = "\"type\":\"verdict\"";

/// Counts the verdicts in the `*.jsonl` trajectory logs of a records folder.
/// The logs are append-only, so each count reads only what was appended
/// since the last one: a batch of 1,000 trajectories had every log re-read
/// in full every 2 s, megabytes per tick for a number that moves by one.
#[derive(Debug, Default)]
pub struct StepCounter {
    /// Per log: bytes counted (up to its last whole line) and verdicts in them.
    logs: HashMap<PathBuf, (u64, usize)>,
}

impl StepCounter {
    /// Verdicts recorded under `records_dir` (a missing folder has none).
    pub fn count(&mut self, records_dir: &Path) -> usize {
        if let Ok(entries) = std::fs::read_dir(records_dir) {
            for path in entries.filter_map(Result::ok).map(|e| e.path()) {
                if path.extension().is_some_and(|x| x == "jsonl") {
                    let seen = self.logs.entry(path.clone()).or_default();
                    // An unreadable log keeps its last count; a shorter one
                    // (replaced, not appended to) is counted again.
                    let _ = count_appended(&path, seen);
                }
            }
        }
        self.logs.values().map(|(_, verdicts)| verdicts).sum()
    }
}

/// Adds the verdicts in the whole lines appended to `path` since `seen`'s
/// offset. A line still being written is left for the next count, so a tag
/// is never split between two reads.
fn count_appended(path: &Path, seen: &mut (u64, usize)) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    if file.metadata()?.len() < seen.0 {
        *seen = (0, 0);
    }
    file.seek(SeekFrom::Start(seen.0))?;
    let mut appended = Vec::new();
    file.read_to_end(&mut appended)?;
    let Some(end) = appended.iter().rposition(|&b| b == b'\n') else { return Ok(()) };
    let whole = String::from_utf8_lossy(&appended[..=end]);
    *seen = (seen.0 + end as u64 + 1, seen.1 + whole.matches(VERDICT_TAG).count());
    Ok(())
}

/// Shows the checked steps as the bar's prefix every 2 s until aborted. A
/// hidden bar (stderr is a log, not a terminal) gets a progress line instead
/// every 30 s that something moved, and at least every 2 minutes when
/// nothing did: on 2 cores the four final reports of a demo run take ~5
/// minutes with no step checked, and a log silent that long looks hung.
pub fn watch_steps(bar: indicatif::ProgressBar, records_dir: PathBuf) -> tokio::task::JoinHandle<()> {
    const LOG_EVERY: Duration = Duration::from_secs(30);
    const LOG_STILL: Duration = Duration::from_secs(120);
    tokio::spawn(async move {
        let counter = std::sync::Arc::new(std::sync::Mutex::new(StepCounter::default()));
        let mut logged = (0, Instant::now());
        loop {
            let (dir, counter) = (records_dir.clone(), counter.clone());
            let n = tokio::task::spawn_blocking(move || counter.lock().map_or(0, |mut c| c.count(&dir))).await.unwrap_or(0);
            bar.set_prefix(format!("{n} steps checked"));
            let since = logged.1.elapsed();
            if bar.is_hidden() && ((n != logged.0 && since >= LOG_EVERY) || since >= LOG_STILL) {
                let elapsed = bar.elapsed().as_secs();
                let done = format!("{}/{} trajectories", bar.position(), bar.length().unwrap_or(0));
                let still = if n == logged.0 {
                    format!(" (no new step in {}s; trajectories still running)", since.as_secs())
                } else {
                    String::new()
                };
                eprintln!("[{:02}:{:02}] {n} steps checked, {done} done{still}", elapsed / 60, elapsed % 60);
                logged = (n, Instant::now());
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const VERDICT: &str = r#"{"step":0,"type":"verdict","approved":true}"#;
    const OTHER: &str = r#"{"step":0,"type":"tool_result"}"#;

    #[test]
    fn counts_verdicts_in_the_logs_and_only_what_was_appended() {
        let dir = tempfile::tempdir().unwrap();
        let mut counter = StepCounter::default();
        assert_eq!(counter.count(&dir.path().join("missing")), 0);
        std::fs::write(dir.path().join("t-1.jsonl"), format!("{VERDICT}\n{OTHER}\n")).unwrap();
        std::fs::write(dir.path().join("t-2.jsonl"), format!("{VERDICT}\n")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), format!("{VERDICT}\n")).unwrap();
        assert_eq!(counter.count(dir.path()), 2);
        // Counted again with nothing new: the same number.
        assert_eq!(counter.count(dir.path()), 2);

        // A line half written is not counted until it is whole.
        let mut log = std::fs::OpenOptions::new().append(true).open(dir.path().join("t-1.jsonl")).unwrap();
        let (head, tail) = VERDICT.split_at(12);
        write!(log, "{head}").unwrap();
        assert_eq!(counter.count(dir.path()), 2);
        writeln!(log, "{tail}").unwrap();
        assert_eq!(counter.count(dir.path()), 3);

        // A log replaced by a shorter one is counted from its start.
        std::fs::write(dir.path().join("t-1.jsonl"), format!("{OTHER}\n")).unwrap();
        assert_eq!(counter.count(dir.path()), 1);
    }
}
