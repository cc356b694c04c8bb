//! The inferrer against the simulated model over real HTTP: scrubbing before
//! the model, follow-up turns in the same schema-constrained call, prompt refs,
//! bounded re-asks.

use productresearch_llm::{EndpointConfig, LlmClient};
use productresearch_prompts::PromptSet;
use productresearch_record::{HistoryEvent, HistoryEventKind, IntentShift, UserHistory};
use user_agent::{Error, FOLLOW_UPS, InferOptions, IntentInferrer};

fn history(category: &str) -> UserHistory {
    let event = |title: &str, price: f64, text: &str| HistoryEvent {
        kind: HistoryEventKind::Purchase,
        timestamp: Some("2025-01-02T03:04:05Z".into()),
        product_id: String::new(),
        title: title.into(),
        price: Some(price),
        rating: Some(3.0),
        text: text.into(),
        category: category.into(),
    };
    UserHistory {
        user_id: "u-1".into(),
        events: vec![
            event("Basic kettle", 30.0, "Too loud; mail me at jane.roe@example.com or call 555-123-4567 about the return."),
            event("Travel kettle", 20.0, "Small but slow."),
        ],
    }
}

async fn inferrer(options: InferOptions) -> (productresearch_sim_llm::SimHandle, IntentInferrer) {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sim-model")).unwrap();
    (sim, IntentInferrer::new(llm).with_options(options))
}

#[tokio::test]
async fn personal_data_never_reaches_the_model_and_prompts_are_named() {
    let (sim, inferrer) = inferrer(InferOptions::default()).await;
    let inferred = inferrer.infer(&history("Home > Kettles")).await.unwrap();
    // The simulated persona quotes the first review: it saw placeholders only.
    assert!(inferred.intent.persona.contains("[EMAIL_1]") && inferred.intent.persona.contains("[PHONE_1]"), "{}", inferred.intent.persona);
    assert!(!inferred.intent.persona.contains("jane.roe"));
    assert!(inferred.intent.follow_ups.is_empty());
    let names: Vec<&str> = inferred.prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["user_agent/intent_system", "user_agent/history"]);
    assert_eq!(inferred.prompts[0], PromptSet::builtin().reference("user_agent/intent_system").unwrap());
    let w: f64 = inferred.intent.rubric.dimensions.iter().map(|d| d.weight).sum();
    assert!((w - 1.0).abs() < 1e-9);
    sim.shutdown().await;
}

#[tokio::test]
async fn multi_turn_mode_returns_validated_follow_ups_in_one_call() {
    let (sim, inferrer) = inferrer(InferOptions { follow_ups: Some(FOLLOW_UPS), ..Default::default() }).await;
    let inferred = inferrer.infer(&history("Home > Kettles")).await.unwrap();
    let shifts: Vec<IntentShift> = inferred.intent.follow_ups.iter().map(|f| f.shift).collect();
    assert_eq!(shifts, [IntentShift::Narrow, IntentShift::ChangeConstraint, IntentShift::Broaden]);
    assert!(inferred.intent.follow_ups.iter().all(|f| f.message.contains("Kettles")));
    assert_eq!(sim.requests(), 1, "one schema-constrained call");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unusable_query_is_re_asked_with_the_error_then_given_up() {
    // A category with a question mark makes the simulated query ask two questions.
    let (sim, inferrer) = inferrer(InferOptions { follow_ups: None, max_reasks: 2 }).await;
    let err = inferrer.infer(&history("Home > Kettles?")).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidIntent(m) if m.contains("questions") && m.contains("after 2 re-asks")), "{err}");
    assert_eq!(sim.requests(), 3, "first ask + 2 re-asks");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_override_template_is_used_and_its_hash_recorded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("user_agent")).unwrap();
    let custom = "You are a careful shopper simulator. Answer as JSON with persona, query and rubric.";
    std::fs::write(dir.path().join("user_agent/intent_system.j2"), custom).unwrap();
    let prompts = PromptSet::load(Some(dir.path())).unwrap();
    let (sim, inferrer) = inferrer(InferOptions::default()).await;
    let inferred = inferrer.with_prompts(prompts.clone()).infer(&history("Home > Kettles")).await.unwrap();
    assert_eq!(inferred.prompts[0], prompts.reference("user_agent/intent_system").unwrap());
    assert_ne!(inferred.prompts[0], PromptSet::builtin().reference("user_agent/intent_system").unwrap());
    sim.shutdown().await;
}

#[tokio::test]
async fn every_demo_history_yields_a_valid_intent_in_both_modes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/histories.jsonl");
    let histories: Vec<UserHistory> = std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for follow_ups in [None, Some(FOLLOW_UPS)] {
        let (sim, inferrer) = inferrer(InferOptions { follow_ups, ..Default::default() }).await;
        for h in &histories {
            let inferred = inferrer.infer(h).await.unwrap_or_else(|e| panic!("{}: {e}", h.user_id));
            assert_eq!(inferred.intent.follow_ups.is_empty(), follow_ups.is_none());
        }
        sim.shutdown().await;
    }
}
