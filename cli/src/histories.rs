//! Behaviour histories for `run`: any format of `productresearch-histories`
//! (our generic JSONL by default, see docs/histories.md), scrubbed of personal
//! data before they leave this process. User ids are pseudonymised when
//! `PRODUCTRESEARCH_PSEUDONYM_KEY` is set, and must be for raw source formats.

use std::path::Path;

use productresearch_histories::{Format, Pseudonymizer, Scrubber, pseudonym::KEY_ENV};
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
    let (format, report) = productresearch_histories::load(path, None).map_err(|e| e.to_string())?;
    let pseudonymizer = match (std::env::var_os(KEY_ENV), format) {
        (Some(_), _) => Some(Pseudonymizer::from_env()?),
        (None, Format::Jsonl) => None,
        (None, raw) => {
            return Err(format!(
                "histories {}: {} ids are real user ids; {}",
                path.display(),
                raw.name(),
                Pseudonymizer::from_env().unwrap_err()
            ));
        }
    };
    let scrubber = Scrubber::default();
    let histories = report.histories.into_iter().map(|l| l.protect(&scrubber, pseudonymizer.as_ref()).0.history).collect();
    let rejected = report.rejected.into_iter().map(|r| Rejected { line: r.line, reason: r.reason }).collect();
    Ok((histories, rejected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_and_the_rest_kept_scrubbed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"user_id":"a","events":[{"kind":"purchase","title":"Kettle","text":"mail me: a@b.example"}]}"#,
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
        assert_eq!(ok[0].events[0].text, "mail me: [EMAIL_1]");
        assert_eq!(bad.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 4, 5]);
        assert!(bad[1].reason.contains("no events"));
        assert!(bad[2].reason.contains("teleport"));
    }
}
