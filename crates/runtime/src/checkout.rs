//! Where the defaults that live in the clone are found: the demo data
//! (`demo/catalog.jsonl`, `demo/web`, `demo/histories.jsonl`), the embedded
//! model (`.models`) and its server script (`scripts/serve_model.py`).
//!
//! A default that only works from the repository root fails for anyone who
//! runs a binary from elsewhere (`cargo install`, a script in another folder).
//! So a default is the relative path under the working directory when that
//! exists, else the one in the checkout the binary was built from, else the
//! relative path again (so the error names what was looked for). Catalogs,
//! corpora and histories a user gives mean what they say and are not looked
//! up here; the embedded model's folder and script are (a relative
//! `models_dir` such as `.models-1.5b` names a folder of the clone).

use std::path::{Path, PathBuf};

/// The checkout's root, as it was when this crate was compiled.
const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The default path of the demo input `name` (see the module docs).
pub fn demo_path(name: &str) -> PathBuf {
    checkout_path(&Path::new("demo").join(name))
}

/// The default path of `relative`, a path inside the clone (see the module docs).
pub fn checkout_path(relative: &Path) -> PathBuf {
    resolve(relative.to_path_buf(), Path::new(BUILT_FROM).join(relative))
}

fn resolve(here: PathBuf, built_from: PathBuf) -> PathBuf {
    if here.exists() {
        return here;
    }
    if built_from.exists() {
        // `a/crates/runtime/../../demo` reads better as `a/demo`.
        return built_from.canonicalize().unwrap_or(built_from);
    }
    here
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_working_directory_wins_then_the_checkout_then_the_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("here.jsonl");
        let checkout = dir.path().join("checkout.jsonl");
        assert_eq!(resolve(here.clone(), checkout.clone()), here, "neither exists: the path looked for");
        std::fs::write(&checkout, "").unwrap();
        assert_eq!(resolve(here.clone(), checkout.clone()), checkout.canonicalize().unwrap());
        std::fs::write(&here, "").unwrap();
        assert_eq!(resolve(here.clone(), checkout), here);
    }

    #[test]
    fn the_demo_of_this_checkout_is_found_from_anywhere() {
        // Tests run in the crate's folder, where `demo/` does not exist.
        let catalog = demo_path("catalog.jsonl");
        assert!(catalog.is_absolute() && catalog.exists(), "{}", catalog.display());
        let script = checkout_path(Path::new("scripts/serve_model.py"));
        assert!(script.is_absolute() && script.exists(), "{}", script.display());
    }
}
