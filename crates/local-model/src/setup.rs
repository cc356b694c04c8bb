//! The on-disk result of `scripts/setup-model.sh`, checked without hashing 491 MB.

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use crate::{LocalModelConfig, LocalModelError};

/// Written last by the setup script: `key=value` lines (`model_file`, `sha256`, `stamp` = "size mtime").
pub const READY_FILE: &str = "READY";
/// Appended to by every server run (stdout and stderr).
pub const LOG_FILE: &str = "server.log";

/// Everything needed to start the server, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedModel {
    /// The verified gguf.
    pub model_path: PathBuf,
    /// The venv interpreter that has `xllamacpp`.
    pub python: PathBuf,
    /// `serve_model.py`.
    pub script: PathBuf,
    /// Where the server's output is appended.
    pub log_path: PathBuf,
}

impl LocatedModel {
    /// The gguf file stem, used as the model id when `/v1/models` names none.
    pub fn model_stem(&self) -> String {
        self.model_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "local-model".to_owned())
    }
}

/// Checks the model is set up (`READY` + gguf + venv python exist, and the gguf's size and
/// mtime still match what setup recorded) and that the server script exists.
pub fn locate(config: &LocalModelConfig) -> Result<LocatedModel, LocalModelError> {
    let dir = &config.models_dir;
    let not_set_up = |missing: PathBuf| {
        tracing::debug!(missing = %missing.display(), "local model not set up");
        LocalModelError::NotSetUp { missing }
    };

    let ready_path = dir.join(READY_FILE);
    let ready = std::fs::read_to_string(&ready_path).map_err(|_| not_set_up(ready_path.clone()))?;
    let model_file = ready_value(&ready, "model_file").ok_or_else(|| not_set_up(ready_path.clone()))?;
    // A bare file name: READY stays valid if the whole directory is moved.
    if model_file.contains('/') || model_file.is_empty() {
        return Err(not_set_up(ready_path));
    }
    let model_path = dir.join(model_file);
    let meta = std::fs::metadata(&model_path).map_err(|_| not_set_up(model_path.clone()))?;
    if let Some(stamp) = ready_value(&ready, "stamp")
        && stamp != file_stamp(&meta)
    {
        // Replaced or truncated after setup verified it: setup must re-verify.
        return Err(not_set_up(model_path));
    }

    let python = dir.join("venv/bin/python");
    if !python.exists() {
        return Err(not_set_up(python));
    }

    let script = config.script_path();
    if !script.is_file() {
        return Err(LocalModelError::ScriptMissing { path: script });
    }

    Ok(LocatedModel { model_path, python, script, log_path: dir.join(LOG_FILE) })
}

fn ready_value<'a>(ready: &'a str, key: &str) -> Option<&'a str> {
    ready.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('=')).map(str::trim)
}

/// Same format as the setup script's `stat -c '%s %Y'`.
fn file_stamp(meta: &std::fs::Metadata) -> String {
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
    format!("{} {}", meta.len(), mtime)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pr-local-model-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn config(dir: &Path) -> LocalModelConfig {
        LocalModelConfig { models_dir: dir.to_path_buf(), ..LocalModelConfig::default() }
    }

    fn assert_not_set_up(err: LocalModelError, missing_ends_with: &str) {
        let msg = err.to_string();
        assert_eq!(msg, "local model not set up: run scripts/setup-model.sh (downloads ~500 MB once)");
        assert!(!msg.contains('\n'));
        match err {
            LocalModelError::NotSetUp { missing } => {
                assert!(missing.ends_with(missing_ends_with), "missing = {}", missing.display())
            }
            other => panic!("expected NotSetUp, got {other:?}"),
        }
    }

    #[test]
    fn missing_dir_is_not_set_up() {
        let dir = std::env::temp_dir().join("pr-local-model-does-not-exist");
        let err = locate(&config(&dir)).unwrap_err();
        assert_not_set_up(err, READY_FILE);
    }

    #[test]
    fn ready_without_model_is_not_set_up() {
        let dir = scratch("no-model");
        std::fs::write(dir.join(READY_FILE), "model_file=m.gguf\nsha256=x\n").unwrap();
        assert_not_set_up(locate(&config(&dir)).unwrap_err(), "m.gguf");
    }

    #[test]
    fn ready_without_model_file_key_is_not_set_up() {
        let dir = scratch("no-key");
        std::fs::write(dir.join(READY_FILE), "sha256=x\n").unwrap();
        assert_not_set_up(locate(&config(&dir)).unwrap_err(), READY_FILE);
    }

    #[test]
    fn changed_model_is_not_set_up() {
        let dir = scratch("stale");
        std::fs::write(dir.join("m.gguf"), b"1234").unwrap();
        std::fs::write(dir.join(READY_FILE), "model_file=m.gguf\nstamp=999 1\n").unwrap();
        assert_not_set_up(locate(&config(&dir)).unwrap_err(), "m.gguf");
    }

    #[test]
    fn missing_venv_is_not_set_up() {
        let dir = scratch("no-venv");
        std::fs::write(dir.join("m.gguf"), b"1234").unwrap();
        let stamp = file_stamp(&std::fs::metadata(dir.join("m.gguf")).unwrap());
        std::fs::write(dir.join(READY_FILE), format!("model_file=m.gguf\nstamp={stamp}\n")).unwrap();
        assert_not_set_up(locate(&config(&dir)).unwrap_err(), "venv/bin/python");
    }

    #[test]
    fn missing_script_is_reported_with_its_path() {
        let dir = scratch("no-script");
        std::fs::write(dir.join("m.gguf"), b"1234").unwrap();
        std::fs::create_dir_all(dir.join("venv/bin")).unwrap();
        std::fs::write(dir.join("venv/bin/python"), b"").unwrap();
        std::fs::write(dir.join(READY_FILE), "model_file=m.gguf\n").unwrap();
        let cfg = LocalModelConfig { script: Some(dir.join("nope.py")), ..config(&dir) };
        let err = locate(&cfg).unwrap_err();
        assert!(matches!(err, LocalModelError::ScriptMissing { .. }), "{err:?}");
        assert!(err.to_string().contains("nope.py"));

        std::fs::write(dir.join("serve.py"), b"").unwrap();
        let cfg = LocalModelConfig { script: Some(dir.join("serve.py")), ..config(&dir) };
        let located = locate(&cfg).unwrap();
        assert_eq!(located.model_path, dir.join("m.gguf"));
        assert_eq!(located.model_stem(), "m");
        assert_eq!(located.log_path, dir.join(LOG_FILE));
    }
}
