//! What `productresearch run` prints to stderr by default: a fixed set of
//! lines (set-up, summary) and one line per trajectory — never a line per
//! step, verdict, tool call or record event, which at 1,000 trajectories in
//! flight would flood the terminal and cost CPU.

use std::path::Path;
use std::process::Command;

/// The first `n` real histories (Amazon Reviews 2023, imported as `users
/// import` does: scrubbed and pseudonymised), each its own shopper.
fn histories(dir: &Path, n: usize) -> std::path::PathBuf {
    let source = productresearch_histories::shared_data().join("amazon_reviews_2023_user_histories/test.jsonl");
    let all = dir.join("all.jsonl");
    let key = productresearch_histories::Pseudonymizer::new(*b"0123456789abcdef0123").unwrap();
    productresearch::users::import(&[source], None, &all, &key).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&all).unwrap().lines().take(n).map(str::to_string).collect();
    assert_eq!(lines.len(), n);
    let path = dir.join(format!("histories-{n}.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Runs a simulated batch of `n` trajectories; its stderr lines.
fn stderr_of_run(n: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let histories = histories(dir.path(), n);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_productresearch"));
    cmd.current_dir(dir.path())
        .args(["run", "--simulated-llm", "--concurrency", "2", "--out", "out", "--histories"])
        .arg(&histories)
        // The defaults, not what the calling shell asks for.
        .env_remove("RUST_LOG");
    for (name, _) in std::env::vars() {
        if name.starts_with("PR_") {
            cmd.env_remove(name);
        }
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    stderr.lines().map(str::to_string).collect()
}

#[test]
fn stderr_has_lines_per_trajectory_and_none_per_event() {
    let two = stderr_of_run(2);
    let six = stderr_of_run(6);
    // A line per trajectory (its outcome; a dropped one also why) names its id.
    let names_a_trajectory = |l: &String| l.split_whitespace().any(|w| w.len() == 18 && w.starts_with("t-"));
    let outcomes = |lines: &[String]| lines.iter().filter(|l| l.starts_with("t-")).count();
    assert_eq!((outcomes(&two), outcomes(&six)), (2, 6), "{two:#?}\n{six:#?}");
    assert!(six.iter().filter(|l| names_a_trajectory(l)).count() <= 2 * 6, "{six:#?}");
    // Six trajectories check about 50 steps more than two: none of them shows.
    let rest = |lines: &[String]| lines.iter().filter(|l| !names_a_trajectory(l)).count();
    assert_eq!(rest(&two), rest(&six), "{two:#?}\n{six:#?}");
    for line in two.iter().chain(&six) {
        assert!(![" INFO ", " DEBUG ", " TRACE "].iter().any(|level| line.contains(level)), "a log line by default: {line}");
    }
}
