//! Where the default inputs (the demo data of a clone: `demo/catalog.jsonl`,
//! `demo/web`, `demo/histories.jsonl`) are found.
//!
//! A default that only works from the repository root fails for anyone who
//! runs a binary from elsewhere (`cargo install`, a script in another folder).
//! So a default is `demo/<name>` under the working directory when that
//! exists, else the one in the checkout the binary was built from, else the
//! relative path again (so the error names what was looked for). Paths a user
//! gives are never resolved here: they mean what they say.

use std::path::{Path, PathBuf};

/// The checkout's `demo` folder, as it was when this crate was compiled.
const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo");

/// The default path of the demo input `name` (see the module docs).
pub fn demo_path(name: &str) -> PathBuf {
    resolve(Path::new("demo").join(name), Path::new(BUILT_FROM).join(name))
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
    }
}
