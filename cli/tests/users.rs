//! `users import` and `users fidelity` on the shipped data.

use std::path::PathBuf;

use productresearch::users::{fidelity, import};
use productresearch_histories::{HistoryLine, Pseudonymizer};
use productresearch_llm::EndpointConfig;

fn data(rel: &str) -> PathBuf {
    productresearch_histories::shared_data().join(rel)
}

#[test]
fn import_scrubs_pseudonymises_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h.jsonl");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        concat!(
            r#"{"user_id":"raw-user-7","events":[{"kind":"service_dialogue","text":"I am Jane Roe, call me on 555-123-4567"}],"user_names":["Jane Roe"]}"#,
            "\n{broken\n"
        ),
    )
    .unwrap();
    let key = Pseudonymizer::new(*b"0123456789abcdef0123").unwrap();
    let files = vec![data("amazon_reviews_2023_user_histories/test.jsonl"), bad.clone()];
    let summary = import(&files, None, &out, &key).unwrap();
    assert_eq!(summary.histories, 24);
    assert_eq!(summary.heldout, 23);
    assert_eq!(summary.rejected.len(), 1);
    assert_eq!(summary.rejected[0].to_string().split(": ").next().unwrap(), format!("{}:2", bad.display()));
    assert_eq!((summary.scrubbed.names, summary.scrubbed.phones), (1, 1));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("raw-user-7") && !text.contains("Jane") && !text.contains("555-123"));
    assert!(!text.contains("user_names"));
    assert!(text.contains("I am [NAME_1], call me on [PHONE_1]"));
    let lines: Vec<HistoryLine> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().all(|l| Pseudonymizer::is_pseudonym(&l.user_id)));
    // Importing the output again changes nothing.
    let again = dir.path().join("again.jsonl");
    import(std::slice::from_ref(&out), None, &again, &key).unwrap();
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
}

#[tokio::test]
async fn fidelity_on_the_test_split_with_the_simulated_model() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let endpoint = EndpointConfig::new(sim.base_url(), "sim-model");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fidelity.jsonl");
    let files = [data("amazon_reviews_2023_user_histories/test.jsonl")];
    let report = fidelity(&files, None, endpoint, None, 10, Some(&out)).await.unwrap();
    sim.shutdown().await;
    assert_eq!(report.histories, 23);
    assert_eq!(report.failures, 0);
    assert!(report.catalog > 100 && report.categories > 10, "{report:?}");
    assert!(report.hit >= report.category_at_1 && report.hit >= report.close_match);
    assert!(report.close_match >= report.item_in_top_k);
    // The simulated query names the category and the last product: the search finds the area.
    assert!(report.hit > 0.3, "{report}");
    let rows = std::fs::read_to_string(&out).unwrap();
    assert_eq!(rows.lines().count(), 23);
    assert!(!rows.contains("user_id"));
}
