//! Deterministic trajectory ids.

use productresearch_record::UserHistory;
use sha2::{Digest, Sha256};

use crate::caps::Caps;

/// The id of the trajectory for `history` under `caps` and `config_tag` (the
/// supervisor passes its own model's name; the other roles' models are not
/// part of the id): the same input under the same configuration always gets
/// the same id, so a re-run can tell what is already done.
pub fn trajectory_id(history: &UserHistory, caps: &Caps, config_tag: &str) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(history).expect("histories serialise"));
    h.update(serde_json::to_vec(caps).expect("caps serialise"));
    h.update(config_tag.as_bytes());
    let digest = h.finalize();
    format!("t-{}", hex::encode(&digest[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::{HistoryEvent, HistoryEventKind};

    fn history(title: &str) -> UserHistory {
        UserHistory {
            user_id: "u1".into(),
            events: vec![HistoryEvent {
                kind: HistoryEventKind::Purchase,
                timestamp: None,
                product_id: String::new(),
                title: title.into(),
                price: None,
                rating: None,
                text: String::new(),
                category: String::new(),
            }],
        }
    }

    #[test]
    fn same_input_same_id_and_any_change_changes_it() {
        let caps = Caps::default();
        let a = trajectory_id(&history("x"), &caps, "m");
        assert_eq!(a, trajectory_id(&history("x"), &caps, "m"));
        assert_ne!(a, trajectory_id(&history("y"), &caps, "m"));
        assert_ne!(a, trajectory_id(&history("x"), &caps, "m2"));
        assert_ne!(a, trajectory_id(&history("x"), &Caps { max_tool_calls: 2, ..caps }, "m"));
    }
}
