//! How a trajectory ended, named as its record names it.

use productresearch_record::TerminationReason;

/// The snake_case name of a termination reason, as in the JSONL record.
pub fn reason_name(reason: TerminationReason) -> String {
    serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{reason:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_records_own() {
        assert_eq!(reason_name(TerminationReason::RoundCap), "round_cap");
        assert_eq!(reason_name(TerminationReason::ModelFailure), "model_failure");
    }
}
