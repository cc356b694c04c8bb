//! Behaviour histories from real sources, made safe to show a model.
//!
//! - [`load`]: the three formats ([`Format`]): Amazon Reviews 2023 per-user
//!   sequences (the last review held out as the "next purchase"), amazon.in
//!   reviewers linked to the amazon.in catalog, and our generic JSONL
//!   (docs/histories.md). A malformed line is reported with its file and line
//!   and skipped; the other lines load.
//! - [`privacy`]: personal data in free text → stable placeholders.
//! - [`pseudonym`]: user ids → keyed hashes (HMAC-SHA256).

mod amazon2023;
mod amazon_in;
mod jsonl;
pub mod privacy;
pub mod pseudonym;

use std::path::{Path, PathBuf};

use productresearch_record::UserHistory;
use serde::{Deserialize, Serialize};

pub use jsonl::HistoryLine;
pub use privacy::{ScrubCounts, Scrubber};
pub use pseudonym::Pseudonymizer;

/// A history source format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Our generic JSONL: one `{"user_id", "events": [...]}` per line.
    Jsonl,
    /// Amazon Reviews 2023 user-category rows (`history` + `heldout`).
    Amazon2023,
    /// amazon.in `user_reviewed_products.jsonl`, joined with the
    /// `products.jsonl` next to it.
    AmazonIn,
}

impl Format {
    /// All formats, for help texts.
    pub const ALL: [Format; 3] = [Format::Jsonl, Format::Amazon2023, Format::AmazonIn];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Amazon2023 => "amazon2023",
            Self::AmazonIn => "amazon-in",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Result<Format, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| format!("unknown history format {name:?} (expected one of {})", Self::ALL.map(|f| f.name()).join(", ")))
    }

    /// Guesses the format from the keys of the first non-empty line.
    pub fn detect(first_line: &str) -> Format {
        let keys = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(first_line).unwrap_or_default();
        if keys.contains_key("heldout") && keys.contains_key("history") {
            Format::Amazon2023
        } else if keys.contains_key("product_ids") && !keys.contains_key("events") {
            Format::AmazonIn
        } else {
            Format::Jsonl
        }
    }
}

/// The item a user reviewed next: kept out of the prompt, used by the fidelity check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldOut {
    /// Product id (ASIN).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub product_id: String,
    /// Product title.
    pub title: String,
    /// Main category.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
    /// Price, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// The user's rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f32>,
}

/// One loaded history with what the source says beyond the events.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The history (not yet scrubbed or pseudonymised; see [`Loaded::protect`]).
    pub history: UserHistory,
    /// The held-out next item, when the source has one.
    pub heldout: Option<HeldOut>,
    /// Names the source marks as the user's (scrubbed from the text).
    pub user_names: Vec<String>,
    /// Source name, keyed into the pseudonym.
    pub source: &'static str,
}

impl Loaded {
    /// Scrubs personal data from the free text and, given a pseudonymizer,
    /// replaces the user id (ids that already are pseudonyms are kept). The
    /// user names are dropped: they must not reach any output.
    pub fn protect(mut self, scrubber: &Scrubber, pseudonymizer: Option<&Pseudonymizer>) -> (Loaded, ScrubCounts) {
        let (mut history, counts) = scrubber.scrub_history_with_names(&self.history, &self.user_names);
        if let Some(p) = pseudonymizer
            && !Pseudonymizer::is_pseudonym(&history.user_id)
        {
            history.user_id = p.pseudonym(self.source, &history.user_id);
        }
        self.history = history;
        self.user_names.clear();
        (self, counts)
    }

    /// The generic JSONL line of this history (with its held-out item, if any).
    pub fn to_line(&self) -> HistoryLine {
        HistoryLine {
            user_id: self.history.user_id.clone(),
            events: self.history.events.clone(),
            user_names: Vec::new(),
            heldout: self.heldout.clone(),
        }
    }
}

/// A line that did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

/// Everything one file gave.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Usable histories, in file order.
    pub histories: Vec<Loaded>,
    /// Lines that were not.
    pub rejected: Vec<Rejected>,
}

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file (or a file it needs) cannot be read.
    #[error("histories {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The error.
        reason: String,
    },
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|e| LoadError::Unreadable { path: path.to_path_buf(), reason: e.to_string() })
}

/// Loads `path` in `format` (detected from the first line when `None`). Bad
/// lines are in the report; only an unreadable file is an error.
pub fn load(path: &Path, format: Option<Format>) -> Result<(Format, LoadReport), LoadError> {
    let text = read(path)?;
    let format = format.unwrap_or_else(|| Format::detect(text.lines().find(|l| !l.trim().is_empty()).unwrap_or("")));
    let mut report = LoadReport::default();
    let lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l));
    match format {
        Format::Jsonl => jsonl::load(lines, &mut |line, r| push(&mut report, path, line, r)),
        Format::Amazon2023 => amazon2023::load(lines, &mut |line, r| push(&mut report, path, line, r)),
        Format::AmazonIn => {
            let catalog_path = amazon_in::catalog_path(path);
            let catalog = amazon_in::Catalog::read(&catalog_path, &read(&catalog_path)?);
            amazon_in::load(lines, &catalog, &mut |line, r| push(&mut report, path, line, r))
        }
    }
    Ok((format, report))
}

fn push(report: &mut LoadReport, path: &Path, line: usize, result: Result<Loaded, String>) {
    let checked = result.and_then(|l| l.history.validate().map(|()| l));
    match checked {
        Ok(l) => report.histories.push(l),
        Err(reason) => report.rejected.push(Rejected { file: path.to_path_buf(), line, reason }),
    }
}

/// The shipped data folder (`../shared/data` next to the repository), for tests.
#[doc(hidden)]
pub fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}
