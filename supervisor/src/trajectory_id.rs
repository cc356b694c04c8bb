//! Deterministic trajectory ids.

use productresearch_record::UserHistory;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use sha2::{Digest, Sha256};

use crate::caps::Caps;

/// The id of the trajectory for `history` under `caps` and `config_tag` (the
/// supervisor passes its own model's name; the other roles' models are not
/// part of the id): the same input under the same configuration always gets
/// the same id, so a re-run can tell what is already done.
pub fn trajectory_id(history: &UserHistory, caps: &Caps, config_tag: &str) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(history).expect("histories serialise"));
    h.update(serde_json::to_vec(&IdCaps(caps)).expect("caps serialise"));
    h.update(config_tag.as_bytes());
    let digest = h.finalize();
    format!("t-{}", hex::encode(&digest[..8]))
}

/// The caps as the id hashes them: the budgets, then only the guards set away
/// from their defaults. The guards had no settings before, so a run with
/// default guards keeps the id it always had (the JSON of the budgets alone).
struct IdCaps<'a>(&'a Caps);

impl Serialize for IdCaps<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let defaults = Caps::default().guards();
        let changed: Vec<(&'static str, u32)> = c.guards().into_iter().zip(defaults).filter(|(g, d)| g != d).map(|(g, _)| g).collect();
        let mut s = serializer.serialize_struct("Caps", 7 + changed.len())?;
        s.serialize_field("max_report_rounds", &c.max_report_rounds)?;
        s.serialize_field("max_tool_calls", &c.max_tool_calls)?;
        s.serialize_field("max_rejections_per_step", &c.max_rejections_per_step)?;
        s.serialize_field("max_round_tool_calls", &c.max_round_tool_calls)?;
        s.serialize_field("max_tokens", &c.max_tokens)?;
        s.serialize_field("max_role_tokens", &c.max_role_tokens)?;
        s.serialize_field("max_wall_secs", &c.max_wall_secs)?;
        for (name, value) in changed {
            s.serialize_field(name, &value)?;
        }
        s.end()
    }
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
        assert_ne!(a, trajectory_id(&history("x"), &Caps { degenerate_repeat_percent: 0, ..caps }, "m"));
        assert_ne!(
            trajectory_id(&history("x"), &Caps { echo_words: 0, ..caps }, "m"),
            trajectory_id(&history("x"), &Caps { plan_echo_percent: 0, ..caps }, "m"),
            "guards are told apart by name"
        );
    }

    // Re-running a batch skips what is done by its ids: default guards must
    // not change the ids of records written before they had settings.
    #[test]
    fn default_guards_keep_the_ids_of_older_records() {
        let history = UserHistory { user_id: "u1".into(), events: vec![] };
        assert_eq!(trajectory_id(&history, &Caps::default(), "m"), "t-bef5801d849ed03f");
    }
}
