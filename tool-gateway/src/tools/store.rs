//! Record and replay of tool responses, so a trajectory can be reproduced
//! exactly and the distiller can re-check what the agent saw.
//!
//! The store is content-addressed: every response is an object named by the
//! SHA-256 of its bytes (`objects/<hash>.json`: tool, canonical arguments,
//! content, error kind, backend, time), and `requests/<hash of tool +
//! canonical arguments>` names the object that answered that request last.
//! Replay reads only these files: no catalog, corpus or network is touched.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, io_reason};
use crate::outcome::{ToolErrorKind, ToolOutcome};

/// How tool calls are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolsMode {
    /// Backends answer; nothing is stored.
    #[default]
    Live,
    /// Backends answer and every response is stored.
    Record,
    /// The store answers; backends are never called.
    Replay,
}

impl std::str::FromStr for ToolsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "live" => Ok(Self::Live),
            "record" => Ok(Self::Record),
            "replay" => Ok(Self::Replay),
            _ => Err(format!("unknown tools mode {s:?} (live, record or replay)")),
        }
    }
}

impl ToolsMode {
    /// The mode's name in configs and snapshot ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Record => "record",
            Self::Replay => "replay",
        }
    }
}

/// Id of the snapshot tool results come from: the record/replay store as
/// `<mode>:<folder>`, empty for live tools (nothing to trace results back
/// to). The gateway reports it on ListTools; the supervisor writes it into
/// every trajectory record.
pub fn snapshot_id(mode: ToolsMode, store: Option<&Path>) -> String {
    match (mode, store) {
        (ToolsMode::Live, _) | (_, None) => String::new(),
        (mode, Some(dir)) => format!("{}:{}", mode.name(), dir.display()),
    }
}

/// One stored response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub tool: String,
    /// The call's arguments, keys sorted.
    pub arguments: Value,
    pub content: String,
    /// `None` for a successful call.
    pub error: Option<String>,
    /// What answered: `catalog`, `corpus`, `live`, `searxng`, `brave`.
    pub backend: String,
    pub recorded_at_unix_ms: u64,
}

/// A folder of recorded responses.
#[derive(Debug, Clone)]
pub struct ToolStore {
    dir: PathBuf,
}

impl ToolStore {
    /// Opens (creating when `create`) the store at `dir`.
    pub fn open(dir: &Path, create: bool) -> Result<Self, Error> {
        let fail = |reason: String| Error::Config(format!("tool store {}: {reason}", dir.display()));
        if create {
            for sub in ["objects", "requests"] {
                fs::create_dir_all(dir.join(sub)).map_err(|e| fail(io_reason(&e)))?;
            }
        } else if !dir.join("requests").is_dir() {
            return Err(fail("no recorded responses here (run with --tools-mode record first)".into()));
        }
        Ok(Self { dir: dir.to_path_buf() })
    }

    /// The address of a request: tool name and canonical arguments.
    pub fn request_key(tool: &str, arguments_json: &str) -> String {
        let canonical = canonical_arguments(arguments_json);
        hex::encode(Sha256::digest(format!("{tool}\n{canonical}").as_bytes()))
    }

    /// Stores `outcome` as the answer to the request; returns the object's hash.
    pub fn record(&self, tool: &str, arguments_json: &str, outcome: &ToolOutcome, backend: &str) -> Result<String, Error> {
        let arguments = serde_json::from_str::<Value>(arguments_json).map(sort_keys).unwrap_or(Value::String(arguments_json.to_string()));
        let entry = StoredResponse {
            tool: tool.to_string(),
            arguments,
            content: outcome.content.clone(),
            error: outcome.error.map(kind_name).map(String::from),
            backend: backend.to_string(),
            recorded_at_unix_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        };
        let bytes = serde_json::to_vec(&entry).expect("serializable");
        let hash = hex::encode(Sha256::digest(&bytes));
        self.write_atomic(&self.dir.join("objects").join(format!("{hash}.json")), &bytes)?;
        self.write_atomic(&self.dir.join("requests").join(Self::request_key(tool, arguments_json)), hash.as_bytes())?;
        Ok(hash)
    }

    /// The recorded answer to the request, if any.
    pub fn replay(&self, tool: &str, arguments_json: &str) -> Result<Option<StoredResponse>, Error> {
        let pointer = self.dir.join("requests").join(Self::request_key(tool, arguments_json));
        let hash = match fs::read_to_string(&pointer) {
            Ok(hash) => hash,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Config(format!("tool store {}: {}", pointer.display(), io_reason(&e)))),
        };
        let object = self.dir.join("objects").join(format!("{}.json", hash.trim()));
        let bytes = fs::read(&object).map_err(|e| Error::Config(format!("tool store {}: {}", object.display(), io_reason(&e))))?;
        // Content addressing makes damage detectable.
        if hex::encode(Sha256::digest(&bytes)) != hash.trim() {
            return Err(Error::Config(format!("tool store {}: content does not match its hash", object.display())));
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Config(format!("tool store {}: {e}", object.display())))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), Error> {
        let fail = |e: std::io::Error| Error::Config(format!("tool store {}: {}", path.display(), io_reason(&e)));
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let mut file = fs::File::create(&tmp).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        fs::rename(&tmp, path).map_err(fail)
    }
}

impl StoredResponse {
    pub fn outcome(&self) -> ToolOutcome {
        ToolOutcome { content: self.content.clone(), error: self.error.as_deref().map(kind_from_name) }
    }
}

/// Arguments as JSON with sorted keys and no insignificant whitespace, so
/// `{"a":1, "b":2}` and `{"b": 2, "a": 1}` are one request. Unparsable
/// arguments are kept verbatim (their error outcome is recorded too).
fn canonical_arguments(arguments_json: &str) -> String {
    match serde_json::from_str::<Value>(arguments_json) {
        Ok(v) => sort_keys(v).to_string(),
        Err(_) => arguments_json.trim().to_string(),
    }
}

fn sort_keys(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut pairs: Vec<(String, Value)> = map.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

fn kind_name(kind: ToolErrorKind) -> &'static str {
    match kind {
        ToolErrorKind::UnknownTool => "unknown_tool",
        ToolErrorKind::InvalidArguments => "invalid_arguments",
        ToolErrorKind::NotFound => "not_found",
        ToolErrorKind::Backend => "backend",
        ToolErrorKind::Policy => "policy",
    }
}

fn kind_from_name(name: &str) -> ToolErrorKind {
    match name {
        "unknown_tool" => ToolErrorKind::UnknownTool,
        "invalid_arguments" => ToolErrorKind::InvalidArguments,
        "not_found" => ToolErrorKind::NotFound,
        "policy" => ToolErrorKind::Policy,
        _ => ToolErrorKind::Backend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_keyed_by_canonical_arguments() {
        assert_eq!(
            ToolStore::request_key("t", r#"{"a": 1, "b": {"y": 2, "x": 1}}"#),
            ToolStore::request_key("t", r#"{"b":{"x":1,"y":2},"a":1}"#)
        );
        assert_ne!(ToolStore::request_key("t", r#"{"a": 1}"#), ToolStore::request_key("u", r#"{"a": 1}"#));
    }

    #[test]
    fn a_damaged_object_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = ToolStore::open(dir.path(), true).unwrap();
        let hash = store.record("t", "{}", &ToolOutcome::ok("x".into()), "catalog").unwrap();
        assert_eq!(store.replay("t", "{}").unwrap().unwrap().outcome(), ToolOutcome::ok("x".into()));
        fs::write(dir.path().join("objects").join(format!("{hash}.json")), b"{}").unwrap();
        assert!(store.replay("t", "{}").unwrap_err().to_string().contains("does not match its hash"));
        assert!(ToolStore::open(&dir.path().join("none"), false).unwrap_err().to_string().contains("--tools-mode record"));
    }
}
