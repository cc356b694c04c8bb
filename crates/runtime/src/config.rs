//! Layered, typed configuration.
//!
//! Every service's config is a `serde` struct with `deny_unknown_fields` and a
//! `Default`. [`load`] merges, in increasing precedence: the defaults, an optional
//! TOML file, environment variables (`<PREFIX>_<FIELD>`, nested with `__`), and
//! flag overrides the binary collected. A bad key or value is one line naming it.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file does not exist.
    #[error("config file {0} not found")]
    FileNotFound(String),
    /// A value is missing, unknown or of the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads a config of type `T` from defaults, `file`, env vars with `env_prefix`
/// and `overrides` (flags; only the fields they set).
pub fn load<T>(file: Option<&Path>, env_prefix: &str, overrides: impl Serialize) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError::FileNotFound(path.display().to_string()));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(Env::prefixed(&format!("{env_prefix}_")).split("__")).merge(Serialized::defaults(overrides));
    figment.extract().map_err(|e| ConfigError::Invalid(one_line(&e)))
}

/// Renders a config as TOML, for `--print-config`.
pub fn render<T: Serialize>(config: &T) -> String {
    toml::to_string_pretty(config).unwrap_or_else(|e| format!("# config cannot be rendered: {e}"))
}

fn one_line(e: &figment::Error) -> String {
    e.clone().into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        name: String,
        limit: u32,
    }

    #[derive(Serialize)]
    struct NoOverrides {}

    #[test]
    fn file_then_overrides_take_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "name = \"from-file\"\nlimit = 3\n").unwrap();
        #[derive(Serialize)]
        struct Flags {
            limit: u32,
        }
        let c: Sample = load(Some(&path), "PR_TEST_CFG_A", Flags { limit: 9 }).unwrap();
        assert_eq!(c, Sample { name: "from-file".into(), limit: 9 });
    }

    #[test]
    fn unknown_key_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "nmae = \"typo\"\n").unwrap();
        let err = load::<Sample>(Some(&path), "PR_TEST_CFG_B", NoOverrides {}).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("nmae"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = load::<Sample>(Some(Path::new("/nonexistent/x.toml")), "PR_TEST_CFG_C", NoOverrides {}).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.toml"));
    }
}
