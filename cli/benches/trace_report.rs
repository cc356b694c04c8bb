//! How long `productresearch trace report` takes on a run of 1,000
//! trajectories (6 rounds, 4 tool calls each: ~73k spans). Prints the figures.
//! `cargo bench -p productresearch --bench trace_report`

use std::time::Instant;

use productresearch::trace_report::{analyse, read_spans, svg, synthetic_run, table};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("traces.jsonl");
    std::fs::write(&file, synthetic_run(1_000, 6, 4)).expect("write synthetic run");
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let started = Instant::now();
    let spans = read_spans(&file).expect("read");
    let read = started.elapsed();
    let report = analyse(&spans);
    let _ = (table(&report), svg(&report));
    let total = started.elapsed();
    println!(
        "trace report: 1000 trajectories, {} spans, {:.1} MB: read {:.2}s, total {:.2}s",
        spans.len(),
        bytes as f64 / 1e6,
        read.as_secs_f64(),
        total.as_secs_f64()
    );
}
