//! Behaviour histories from JSONL files (our generic schema: one
//! `UserHistory` object per line, see docs/histories.md).

use std::path::Path;

use productresearch_record::UserHistory;

/// A line that was not a usable history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line number.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// Reads every usable history of `path`; bad lines are returned, not fatal.
pub fn read(path: &Path) -> Result<(Vec<UserHistory>, Vec<Rejected>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("histories {}: {e}", path.display()))?;
    let mut ok = Vec::new();
    let mut rejected = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<UserHistory>(line).map_err(|e| e.to_string()).and_then(|h| h.validate().map(|()| h));
        match parsed {
            Ok(h) => ok.push(h),
            Err(reason) => rejected.push(Rejected { line: i + 1, reason }),
        }
    }
    Ok((ok, rejected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"user_id":"a","events":[{"kind":"purchase","title":"Kettle"}]}"#,
                "\n",
                "not json\n",
                "\n",
                r#"{"user_id":"b","events":[]}"#,
                "\n",
                r#"{"user_id":"c","events":[{"kind":"teleport","title":"x"}]}"#,
                "\n",
            ),
        )
        .unwrap();
        let (ok, bad) = read(&path).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(bad.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 4, 5]);
        assert!(bad[1].reason.contains("no events"));
        assert!(bad[2].reason.contains("teleport"));
    }
}
