//! `productresearch trace report` on a synthetic run with known figures.

use productresearch::trace_report::{analyse, read_spans, svg, synthetic_run, table};

#[test]
fn the_per_round_table_counts_tokens_tools_and_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("traces.jsonl");
    std::fs::write(&file, synthetic_run(10, 3, 2)).unwrap();
    let spans = read_spans(&file).unwrap();
    let report = analyse(&spans);
    assert_eq!(report.traces, 10);
    assert_eq!(report.terminations.get("approved"), Some(&10));
    assert_eq!(report.rounds.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    let r1 = &report.rounds[&1];
    assert_eq!(r1.trajectories, 10);
    assert_eq!(r1.chat_calls, 30, "plan, plan check and report per trajectory");
    assert_eq!(r1.input_tokens, 3_000);
    assert_eq!(r1.tool_calls.get("product_search"), Some(&10));
    assert_eq!(r1.tool_calls.get("web_visit"), Some(&10));
    assert_eq!(r1.rejections.get("check_report"), Some(&10));
    assert!(report.rounds[&3].rejections.is_empty(), "the last report is approved");
    assert_eq!(r1.round_seconds.len(), 10, "the supervisor's round spans only");
    let t = table(&report);
    assert!(t.contains("| 1 | 10 | 3000 | 300 | 30 |"), "{t}");
    assert!(svg(&report).starts_with("<svg"));
}

#[test]
fn a_line_that_is_not_json_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("traces.jsonl");
    std::fs::write(&file, format!("{}not json\n", synthetic_run(1, 1, 0))).unwrap();
    let err = read_spans(&file).unwrap_err().to_string();
    assert!(err.contains("traces.jsonl:2:") && !err.contains('\n'), "{err}");
}
