//! Every prompt of every role as an editable minijinja template.
//!
//! The built-in templates live in `crates/prompts/templates/<role>/<name>.j2`
//! and are compiled into the binary; a deployment can override any of them by
//! putting a same-named file under its `prompts_dir`
//! (`<prompts_dir>/supervisor/check_plan.j2`), so prompts are tuned without a
//! rebuild. Every rendering returns a [`PromptRef`] (template name + SHA-256 of
//! the source actually used), which the services record on the trajectory so
//! each output says which prompt made it.
//!
//! Undefined variables are errors (strict mode): a template that names a field
//! the code does not provide fails loudly instead of sending a prompt with a hole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// File extension of a template.
pub const EXTENSION: &str = "j2";

/// Templates under this folder are the model client's text protocol (tool
/// catalog, tool results, re-asks) that answer parsers rely on: built in,
/// listed, never overridden.
pub const FIXED_FOLDER: &str = "llm/";

/// Whether a `prompts_dir` may replace template `name`.
pub fn overridable(name: &str) -> bool {
    !name.starts_with(FIXED_FOLDER)
}

/// Which template produced a prompt: its name and the SHA-256 (hex) of the
/// template source that was in use (built-in or override).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromptRef {
    /// Template name, e.g. `supervisor/check_plan`.
    pub name: String,
    /// Lowercase hex SHA-256 of the template source.
    pub sha256: String,
}

/// A rendered prompt and the template it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The prompt text.
    pub text: String,
    /// The template that produced it.
    pub prompt: PromptRef,
}

/// Why prompts could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// An override file could not be read.
    #[error("prompt template {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An override file does not parse, or names no built-in template.
    #[error("prompt template {path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line, when known).
        detail: String,
    },
    /// The prompts directory itself is unusable.
    #[error("prompts dir {path}: {detail}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The code asked for a template that does not exist.
    #[error("unknown prompt template {0:?}")]
    Unknown(String),
    /// Rendering failed (usually a variable the template names but the code does not give).
    #[error("prompt template {name} ({origin}) failed to render: {detail}")]
    Render {
        /// Template name.
        name: String,
        /// `built-in` or the override file.
        origin: String,
        /// The error, with its line.
        detail: String,
    },
}

/// One template as loaded.
#[derive(Debug)]
struct Source {
    /// Where it came from: `None` for built-in.
    file: Option<PathBuf>,
    text: String,
    reference: PromptRef,
}

#[derive(Debug)]
struct Inner {
    env: Environment<'static>,
    sources: BTreeMap<String, Source>,
}

/// The loaded templates of all roles. Cheap to clone and share (an `Arc` inside).
#[derive(Clone, Debug)]
pub struct PromptSet {
    inner: Arc<Inner>,
}

impl PromptSet {
    /// The built-in templates, each replaced by the same-named file under `dir`
    /// (if given and present). A file that cannot be read, does not parse, or
    /// names no built-in template is an error naming the file.
    pub fn load(dir: Option<&Path>) -> Result<Self, PromptError> {
        let mut templates: BTreeMap<String, (String, Option<PathBuf>)> =
            BUILTIN.iter().map(|(name, text)| (name.to_string(), (text.to_string(), None))).collect();
        if let Some(dir) = dir {
            if !dir.is_dir() {
                return Err(PromptError::Dir { path: dir.to_path_buf(), detail: "not a directory".into() });
            }
            let mut files = Vec::new();
            collect(dir, &mut files)?;
            for path in files {
                let name = template_name(dir, &path);
                if !overridable(&name) {
                    return Err(PromptError::Invalid {
                        path,
                        detail: format!(
                            "{name:?} is the model client's text protocol, which answer parsers rely on; it cannot be overridden"
                        ),
                    });
                }
                let Some(slot) = templates.get_mut(&name) else {
                    // A typo in a file name would otherwise silently keep the built-in.
                    return Err(PromptError::Invalid {
                        path,
                        detail: format!("no built-in template is named {name:?} (see `productresearch prompts list`)"),
                    });
                };
                let text = std::fs::read_to_string(&path).map_err(|source| PromptError::Read { path: path.clone(), source })?;
                *slot = (text, Some(path));
            }
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build().expect("default delimiters are valid"),
        );
        let mut sources = BTreeMap::new();
        for (name, (text, file)) in templates {
            let reference = PromptRef { name: name.clone(), sha256: hex::encode(Sha256::digest(text.as_bytes())) };
            env.add_template_owned(name.clone(), text.clone()).map_err(|e| match &file {
                Some(path) => PromptError::Invalid { path: path.clone(), detail: one_line(&e) },
                None => PromptError::Invalid { path: PathBuf::from(format!("built-in {name}")), detail: one_line(&e) },
            })?;
            sources.insert(name, Source { file, text, reference });
        }
        Ok(Self { inner: Arc::new(Inner { env, sources }) })
    }

    /// The built-in templates only (compiled once per process, then shared).
    pub fn builtin() -> Self {
        static BUILT: std::sync::OnceLock<PromptSet> = std::sync::OnceLock::new();
        BUILT.get_or_init(|| Self::load(None).expect("built-in templates compile (checked by the crate's tests)")).clone()
    }

    /// Renders template `name` with `ctx` (any serialisable value; a struct's
    /// fields become the template's variables).
    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<Rendered, PromptError> {
        let source = self.inner.sources.get(name).ok_or_else(|| PromptError::Unknown(name.to_string()))?;
        let template = self.inner.env.get_template(name).map_err(|_| PromptError::Unknown(name.to_string()))?;
        let text = template.render(minijinja::value::Serde(ctx)).map_err(|e| PromptError::Render {
            name: name.to_string(),
            origin: source.file.as_ref().map_or_else(|| "built-in".to_string(), |p| p.display().to_string()),
            detail: one_line(&e),
        })?;
        Ok(Rendered { text, prompt: source.reference.clone() })
    }

    /// The name and hash of template `name`, if it exists.
    pub fn reference(&self, name: &str) -> Option<PromptRef> {
        self.inner.sources.get(name).map(|s| s.reference.clone())
    }

    /// Every template: its reference and the override file in use, if any.
    pub fn list(&self) -> Vec<(PromptRef, Option<PathBuf>)> {
        self.inner.sources.values().map(|s| (s.reference.clone(), s.file.clone())).collect()
    }

    /// The source text of template `name` as loaded.
    pub fn source(&self, name: &str) -> Option<&str> {
        self.inner.sources.get(name).map(|s| s.text.as_str())
    }
}

impl Default for PromptSet {
    fn default() -> Self {
        Self::builtin()
    }
}

/// Writes every built-in template under `dir` (`<dir>/<name>.j2`), so a user
/// starts tuning from the shipped prompts. Existing files are kept unless `force`.
pub fn export_builtin(dir: &Path, force: bool) -> Result<Vec<PathBuf>, PromptError> {
    let mut written = Vec::new();
    for (name, text) in BUILTIN.iter().filter(|(name, _)| overridable(name)) {
        let path = dir.join(format!("{name}.{EXTENSION}"));
        if path.exists() && !force {
            continue;
        }
        let io = |source| PromptError::Read { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, text).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

/// A minijinja error on one line: kind, detail and line (its Display is already
/// one line; the debug info with the source excerpt is left out on purpose).
fn one_line(e: &minijinja::Error) -> String {
    let mut s = e.to_string().replace('\n', " ");
    if let Some(line) = e.line()
        && !s.contains(&format!(":{line})"))
    {
        s.push_str(&format!(" (line {line})"));
    }
    s
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), PromptError> {
    let entries = std::fs::read_dir(dir).map_err(|source| PromptError::Read { path: dir.to_path_buf(), source })?;
    for entry in entries {
        let path = entry.map_err(|source| PromptError::Read { path: dir.to_path_buf(), source })?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == EXTENSION) {
            files.push(path);
        }
    }
    files.sort();
    Ok(())
}

/// `<dir>/supervisor/check_plan.j2` → `supervisor/check_plan`.
fn template_name(dir: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(dir).unwrap_or(file).with_extension("");
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(format!("{name}.j2"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn every_builtin_compiles_and_has_a_hash() {
        let set = PromptSet::builtin();
        assert!(!BUILTIN.is_empty());
        for (name, text) in BUILTIN {
            let r = set.reference(name).unwrap();
            assert_eq!(r.sha256, hex::encode(Sha256::digest(text.as_bytes())));
            assert_eq!(r.sha256.len(), 64);
        }
    }

    #[test]
    fn an_override_replaces_the_builtin_and_changes_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let (name, _) = BUILTIN[0];
        write(dir.path(), name, "custom {{ 1 + 1 }}");
        let set = PromptSet::load(Some(dir.path())).unwrap();
        let builtin = PromptSet::builtin();
        assert_ne!(set.reference(name), builtin.reference(name));
        assert_eq!(set.render(name, json!({})).unwrap().text, "custom 2");
        // The others stay built-in.
        let (other, _) = BUILTIN[1];
        assert_eq!(set.reference(other), builtin.reference(other));
    }

    #[test]
    fn strict_undefined_fails_with_the_template_name() {
        let dir = tempfile::tempdir().unwrap();
        let (name, _) = BUILTIN[0];
        write(dir.path(), name, "hello {{ nobody }}");
        let set = PromptSet::load(Some(dir.path())).unwrap();
        let err = set.render(name, json!({})).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains("undefined"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn a_bad_override_names_the_file_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let (name, _) = BUILTIN[0];
        let path = write(dir.path(), name, "ok\n{% if %}");
        let err = PromptSet::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(!err.contains('\n'), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "supervisor/chek_plan", "typo");
        let err = PromptSet::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()) && err.contains("no built-in template"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "llm/reask", "Try again.");
        let err = PromptSet::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()) && err.contains("cannot be overridden"), "{err}");

        let err = PromptSet::load(Some(Path::new("/nonexistent/prompts"))).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/prompts"), "{err}");
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(matches!(PromptSet::builtin().render("no/such", json!({})), Err(PromptError::Unknown(_))));
        assert!(PromptSet::builtin().reference("no/such").is_none());
    }

    #[test]
    fn export_writes_files_that_load_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let written = export_builtin(dir.path(), false).unwrap();
        assert_eq!(written.len(), BUILTIN.iter().filter(|(name, _)| overridable(name)).count());
        assert!(written.iter().all(|p| !p.starts_with(dir.path().join("llm"))), "the client's protocol is not exported");
        let set = PromptSet::load(Some(dir.path())).unwrap();
        for (name, _) in BUILTIN {
            assert_eq!(set.reference(name), PromptSet::builtin().reference(name));
        }
        assert!(export_builtin(dir.path(), false).unwrap().is_empty());
    }
}
