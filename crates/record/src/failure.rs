//! The one failure kind of the mesh: what a trajectory's termination records,
//! what a service's error says it was (the `x-failure-kind` status metadata,
//! see `productresearch_runtime::failure`), and what the proto's
//! `FailureKind` carries (conversions in [`crate::convert`]).

use serde::{Deserialize, Serialize};

/// What failed. The serde names are the record's JSON and the `x-failure-kind`
/// values; they never change (old records must keep loading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// A model call failed after its retries, or its output stayed unusable.
    Model,
    /// A tool or the tool gateway failed.
    Tool,
    /// A policy refused (content filter, blocked URL, auth).
    Policy,
    /// A peer broke the protocol.
    Protocol,
    /// Another service could not be reached.
    Mesh,
    /// A model endpoint refuses every call (wrong key, wrong model name): no
    /// trajectory can make progress until its configuration is fixed.
    Endpoint,
    /// A configuration value is unusable (or a feature the call needs is not
    /// configured).
    Config,
    /// The request itself is unusable; the caller has to change it.
    InvalidInput,
    /// The service's own failure (storage, a worker task, a bug).
    Internal,
}

impl FailureKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::Model,
        Self::Tool,
        Self::Policy,
        Self::Protocol,
        Self::Mesh,
        Self::Endpoint,
        Self::Config,
        Self::InvalidInput,
        Self::Internal,
    ];

    /// The serde name (`invalid_input`), as records and status metadata carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Tool => "tool",
            Self::Policy => "policy",
            Self::Protocol => "protocol",
            Self::Mesh => "mesh",
            Self::Endpoint => "endpoint",
            Self::Config => "config",
            Self::InvalidInput => "invalid_input",
            Self::Internal => "internal",
        }
    }

    /// The kind named `name` (see [`Self::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified failure: what failed and whether retrying later may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureClass {
    /// What failed.
    pub kind: FailureKind,
    /// True when the failure was transient and its retries ran out.
    pub transient: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        for k in FailureKind::ALL {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
            assert_eq!(FailureKind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(FailureKind::from_name("bogus"), None);
    }

    /// A termination line written before the kinds moved here still loads.
    #[test]
    fn an_old_termination_line_loads() {
        let line = r#"{"reason":"mesh_failure","detail":"user-agent: connection refused","failure":{"kind":"mesh","transient":true}}"#;
        let t: crate::Termination = serde_json::from_str(line).unwrap();
        assert_eq!(t.reason, crate::TerminationReason::MeshFailure);
        assert_eq!(t.failure, Some(FailureClass { kind: FailureKind::Mesh, transient: true }));
        assert_eq!(serde_json::to_string(&t).unwrap(), line);
    }
}
