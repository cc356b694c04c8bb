//! The loaders on the shipped data and on crafted bad lines.

use std::path::PathBuf;

use productresearch_histories::{Format, Pseudonymizer, Scrubber, load, shared_data};
use productresearch_record::HistoryEventKind;

fn data(rel: &str) -> PathBuf {
    shared_data().join(rel)
}

#[test]
fn amazon_2023_rows_keep_the_last_review_out_of_the_history() {
    let path = data("amazon_reviews_2023_user_histories/test.jsonl");
    let (format, report) = load(&path, None).unwrap();
    assert_eq!(format, Format::Amazon2023);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.histories.len(), 23);
    for l in &report.histories {
        assert_eq!(l.history.events.len(), 4);
        let held = l.heldout.as_ref().expect("held out");
        assert!(!held.title.is_empty());
        assert!(l.history.events.iter().all(|e| e.kind == HistoryEventKind::Review && e.product_id != held.product_id));
        let times: Vec<_> = l.history.events.iter().map(|e| e.timestamp.clone().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");
        assert!(l.history.events.iter().all(|e| !e.text.contains("<br")));
    }
}

#[test]
fn amazon_in_reviewers_link_to_the_catalog_and_lose_their_names() {
    let path = data("amazon_in_products_reviews/user_reviewed_products.jsonl");
    let (format, report) = load(&path, None).unwrap();
    assert_eq!(format, Format::AmazonIn);
    assert_eq!(report.histories.len() + report.rejected.len(), 911);
    assert!(report.histories.len() > 900, "{}", report.histories.len());
    let with_names = report.histories.iter().filter(|l| !l.user_names.is_empty()).count();
    assert!(with_names > 800, "{with_names}");
    let key = Pseudonymizer::new(*b"test-key-0123456789").unwrap();
    let mut replaced = 0;
    for l in report.histories.iter().cloned() {
        let names = l.user_names.clone();
        let raw_id = l.history.user_id.clone();
        let (p, counts) = l.protect(&Scrubber::default(), Some(&key));
        replaced += counts.names;
        assert!(Pseudonymizer::is_pseudonym(&p.history.user_id));
        assert!(p.user_names.is_empty());
        let line = serde_json::to_string(&p.to_line()).unwrap();
        assert!(!line.contains(&raw_id));
        for name in names.iter().filter(|n| n.len() >= 4) {
            // Whole-word occurrences of the full name are gone.
            let re = regex::Regex::new(&format!(r"(?i)\b{}\b", regex::escape(name))).unwrap();
            assert!(!re.is_match(&line), "{name} in {line}");
        }
        assert!(p.history.events.iter().all(|e| e.category.contains(" > ") && e.price.is_some()));
    }
    assert!(replaced > 0);
}

#[test]
fn malformed_lines_are_reported_with_file_and_line_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"user_id":"a","events":[{"kind":"purchase","title":"Kettle"}],"user_names":["Jane Roe"]}"#,
            "\n",
            "not json\n",
            "\n",
            r#"{"user_id":"b","events":[]}"#,
            "\n",
            r#"{"user_id":"c","events":[{"kind":"teleport","title":"x"}]}"#,
            "\n",
            r#"{"user_id":"d","events":[{"kind":"service_dialogue","text":"Jane Roe asked about order 404-1234567-1234567"}]}"#,
            "\n",
        ),
    )
    .unwrap();
    let (format, report) = load(&path, None).unwrap();
    assert_eq!(format, Format::Jsonl);
    assert_eq!(report.histories.len(), 2);
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 4, 5]);
    let shown = report.rejected[2].to_string();
    assert!(shown.starts_with(&format!("{}:5: ", path.display())) && shown.contains("teleport"), "{shown}");
    assert!(report.rejected[1].reason.contains("no events"));
    let (d, _) = report.histories[1].clone().protect(&Scrubber::default(), None);
    assert_eq!(d.history.events[0].text, "Jane Roe asked about order [ORDER_1]", "names only of the same history");
    let amazon = data("amazon_reviews_2023_user_histories/test.jsonl");
    let text = std::fs::read_to_string(&amazon).unwrap();
    let mut lines: Vec<&str> = text.lines().take(3).collect();
    lines.insert(1, r#"{"user_id": "x", "category": "Toys", "history": "oops", "heldout": null}"#);
    std::fs::write(&path, lines.join("\n")).unwrap();
    let (_, report) = load(&path, Some(Format::Amazon2023)).unwrap();
    assert_eq!(report.histories.len(), 3);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].line, 2);
}

#[test]
fn the_demo_histories_load() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/histories.jsonl");
    let (format, report) = load(&path, None).unwrap();
    assert_eq!(format, Format::Jsonl);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert!(report.histories.len() >= 3);
}

#[test]
fn an_unreadable_file_is_one_error_naming_it() {
    let err = load(std::path::Path::new("/nonexistent/h.jsonl"), None).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/h.jsonl"), "{err}");
}
