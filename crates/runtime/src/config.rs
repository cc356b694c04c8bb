//! Layered, typed configuration.
//!
//! Every service's config is a `serde` struct with `deny_unknown_fields` and a
//! `Default`. [`load`] merges, in increasing precedence: the defaults, an optional
//! TOML file, environment variables (`<PREFIX>_<FIELD>`, nested with `__`), and
//! flag overrides the binary collected. A bad key or value is one line naming it.
//!
//! Variables a kubelet injects for the Services of the pod's namespace
//! ("service links": `SUPERVISOR_PORT=tcp://10.0.0.1:50052`,
//! `PR_SERVICE_HOST`, ...) are never config, whatever the Service is named
//! ([`is_service_link`]): a Service called `supervisor` or `pr` would
//! otherwise put unknown keys into a config that rejects them.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

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
    load_sharing_prefix(file, env_prefix, &[], overrides)
}

/// As [`load`], leaving out the variables named in `foreign`: names under the
/// prefix that another reader owns (the model set-up's `PR_MODELS_DIR` is not
/// a field of the run config, which rejects unknown keys).
pub fn load_sharing_prefix<T>(file: Option<&Path>, env_prefix: &str, foreign: &[&str], overrides: impl Serialize) -> Result<T, ConfigError>
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
    figment = figment.merge(prefixed_env(env_prefix, foreign)).merge(Serialized::defaults(overrides));
    figment.extract().map_err(|e| ConfigError::Invalid(one_line(&e)))
}

/// The variables `<prefix>_*` of the process, service links and `foreign`
/// names left out.
fn prefixed_env(prefix: &str, foreign: &[&str]) -> Env {
    let links: Arc<HashSet<String>> = Arc::new(
        std::env::vars_os()
            .filter_map(|(name, value)| {
                let name = name.to_str()?;
                is_service_link(name, &value.to_string_lossy()).then(|| name.to_ascii_uppercase())
            })
            .chain(foreign.iter().map(|name| name.to_ascii_uppercase()))
            .collect(),
    );
    let prefix = format!("{prefix}_");
    let full = prefix.to_ascii_uppercase();
    Env::prefixed(&prefix).filter(move |rest| !links.contains(&format!("{full}{}", rest.as_str().to_ascii_uppercase()))).split("__")
}

/// Whether `name=value` has the shape of a variable a kubelet injects for a
/// Service `<SVC>` (Kubernetes' `enableServiceLinks`, on by default):
/// `<SVC>_SERVICE_HOST`, `<SVC>_SERVICE_PORT`, `<SVC>_SERVICE_PORT_<PORT NAME>`,
/// `<SVC>_PORT=<tcp|udp|sctp>://ip:port` and
/// `<SVC>_PORT_<port>_<TCP|UDP|SCTP>[_PROTO|_PORT|_ADDR]`. `<SVC>` is any
/// Service name (upper case, `-` as `_`), so the rule holds for Services the
/// chart does not know. No config field has such a name.
pub fn is_service_link(name: &str, value: &str) -> bool {
    let name = name.to_ascii_uppercase();
    let parts: Vec<&str> = name.split('_').collect();
    let n = parts.len();
    let protocol = |p: &str| matches!(p, "TCP" | "UDP" | "SCTP");
    // `<SVC>_` is at least one part before the marker.
    (1..n).any(|i| match parts[i] {
        "SERVICE" => i + 1 < n && (parts[i + 1] == "PORT" || (parts[i + 1] == "HOST" && i + 2 == n)),
        "PORT" if i + 1 == n => ["tcp://", "udp://", "sctp://"].iter().any(|s| value.to_ascii_lowercase().starts_with(s)),
        "PORT" => {
            i + 2 < n
                && !parts[i + 1].is_empty()
                && parts[i + 1].bytes().all(|b| b.is_ascii_digit())
                && protocol(parts[i + 2])
                && (i + 3 == n || (i + 4 == n && matches!(parts[i + 3], "PROTO" | "PORT" | "ADDR")))
        }
        _ => false,
    })
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
    fn foreign_names_under_the_prefix_are_not_config() {
        // SAFETY: a name only this test uses; no other thread reads it.
        unsafe { std::env::set_var("PR_TEST_CFG_F_MODELS_DIR", "/elsewhere") };
        let err = load::<Sample>(None, "PR_TEST_CFG_F", NoOverrides {}).unwrap_err().to_string();
        assert!(err.contains("models_dir"), "{err}");
        let c: Sample = load_sharing_prefix(None, "PR_TEST_CFG_F", &["PR_TEST_CFG_F_MODELS_DIR"], NoOverrides {}).unwrap();
        assert_eq!(c, Sample::default());
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
    fn service_link_shapes() {
        for (name, value) in [
            ("SUPERVISOR_SERVICE_HOST", "10.0.0.1"),
            ("SUPERVISOR_SERVICE_PORT", "50052"),
            ("SUPERVISOR_SERVICE_PORT_GRPC", "50052"),
            ("SUPERVISOR_PORT", "tcp://10.0.0.1:50052"),
            ("SUPERVISOR_PORT_50052_TCP", "tcp://10.0.0.1:50052"),
            ("SUPERVISOR_PORT_50052_TCP_PROTO", "tcp"),
            ("SUPERVISOR_PORT_50052_TCP_PORT", "50052"),
            ("SUPERVISOR_PORT_50052_TCP_ADDR", "10.0.0.1"),
            ("PR_SERVICE_HOST", "10.0.0.9"),
            ("USER_AGENT_CACHE_PORT", "udp://10.0.0.2:53"),
            ("DISTILLER_METRICS_PORT_9090_SCTP", "sctp://10.0.0.3:9090"),
            ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
        ] {
            assert!(is_service_link(name, value), "{name}={value}");
        }
        for (name, value) in [
            ("SUPERVISOR_MAX_IN_FLIGHT", "8"),
            ("SUPERVISOR_SERVER__HEALTH_LISTEN", "0.0.0.0:8081"),
            ("SUPERVISOR_PORT", "8080"),
            ("PORT", "tcp://10.0.0.1:1"),
            ("SERVICE_HOST", "10.0.0.1"),
            ("SUPERVISOR_PORT_50052_HTTP", "x"),
            ("SUPERVISOR_PORT_GRPC_TCP", "x"),
            ("SUPERVISOR_SERVICE_HOST_X", "x"),
        ] {
            assert!(!is_service_link(name, value), "{name}={value}");
        }
    }

    #[test]
    fn missing_file_is_named() {
        let err = load::<Sample>(Some(Path::new("/nonexistent/x.toml")), "PR_TEST_CFG_C", NoOverrides {}).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.toml"));
    }
}
