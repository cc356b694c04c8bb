//! Our generic JSONL history format (docs/histories.md).

use productresearch_record::{HistoryEvent, UserHistory};
use serde::{Deserialize, Serialize};

use crate::{HeldOut, Loaded};

/// One line of the generic format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryLine {
    /// Id of the user in its source.
    pub user_id: String,
    /// Events, oldest first.
    pub events: Vec<HistoryEvent>,
    /// Names that are the user's own: scrubbed from the text, never written out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_names: Vec<String>,
    /// The next item, held out of the prompt (for `users fidelity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout: Option<HeldOut>,
}

pub(crate) fn load<'a>(lines: impl Iterator<Item = (usize, &'a str)>, out: &mut dyn FnMut(usize, Result<Loaded, String>)) {
    for (n, line) in lines {
        let parsed = serde_json::from_str::<HistoryLine>(line).map_err(|e| e.to_string()).map(|l| Loaded {
            history: UserHistory { user_id: l.user_id, events: l.events },
            heldout: l.heldout,
            user_names: l.user_names,
            source: "jsonl",
        });
        out(n, parsed);
    }
}
