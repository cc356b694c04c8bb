use productresearch_sim_llm::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{chat, content_json, message, sim, with_schema};

const HISTORY: &str = "Here is the user's history:\n\
- [purchase] Bose QuietComfort 35 (category: Electronics > Headphones, price: 199.0, rating: 4): comfy\n\
- [review] USB-C Charger (category: Electronics > Chargers)\n\
- [purchase] Sony WH-1000XM4 Wireless Headphones (category: Electronics > Headphones, price: 278.0, rating: 5): great noise cancelling\n\
Write the intent.";

fn assert_weights_sum_to_one(weights: impl Iterator<Item = f64>, what: &str) {
    let sum: f64 = weights.sum();
    assert!((sum - 1.0).abs() < 1e-9, "{what} weights sum to {sum}");
}

fn check_intent(intent: &Value) {
    assert!(!intent["persona"].as_str().unwrap().is_empty());
    assert!(!intent["query"].as_str().unwrap().is_empty());
    let dimensions = intent["rubric"]["dimensions"].as_array().unwrap();
    let names: Vec<&str> = dimensions.iter().map(|d| d["dimension"].as_str().unwrap()).collect();
    assert_eq!(names, ["comprehensiveness", "depth", "instruction_following", "readability"]);
    let weights: Vec<f64> = dimensions.iter().map(|d| d["weight"].as_f64().unwrap()).collect();
    assert_eq!(weights, [0.3, 0.3, 0.2, 0.2]);
    assert_weights_sum_to_one(weights.into_iter(), "dimension");
    for dimension in dimensions {
        let criteria = dimension["criteria"].as_array().unwrap();
        assert!((2..=3).contains(&criteria.len()), "{dimension}");
        for criterion in criteria {
            assert!(!criterion["criterion"].as_str().unwrap().is_empty());
            assert!(!criterion["explanation"].as_str().unwrap().is_empty());
        }
        assert_weights_sum_to_one(criteria.iter().map(|c| c["weight"].as_f64().unwrap()), "criterion");
    }
}

#[tokio::test]
async fn intent_is_derived_from_the_history() {
    let sim = sim(SimConfig::default()).await;
    let request =
        with_schema("intent", json!([{"role": "system", "content": "You simulate a shopper."}, {"role": "user", "content": HISTORY}]));
    let (status, completion) = chat(&sim, &request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    let intent = content_json(&completion);
    check_intent(&intent);
    let query = intent["query"].as_str().unwrap();
    assert!(query.starts_with("I bought the Sony WH-1000XM4 Wireless Headphones and now want a Headphones upgrade under 417."), "{query}");
    assert!(query.contains("Compare at least three options"));
    for dimension in intent["rubric"]["dimensions"].as_array().unwrap() {
        for criterion in dimension["criteria"].as_array().unwrap() {
            assert!(criterion["criterion"].as_str().unwrap().contains("Headphones"), "{criterion}");
        }
    }
    let (_, again) = chat(&sim, &request).await;
    assert_eq!(content_json(&again), intent);
}

#[tokio::test]
async fn intent_without_history_is_still_valid() {
    let sim = sim(SimConfig::default()).await;
    let request = with_schema("intent", json!([{"role": "user", "content": "The user has no history."}]));
    let (_, completion) = chat(&sim, &request).await;
    check_intent(&content_json(&completion));
}

/// The plan's steps, one per line.
fn plan_of(completion: &Value) -> String {
    let steps = content_json(completion)["steps"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    steps.join("\n")
}

#[tokio::test]
async fn plan_has_four_steps_and_grows_after_feedback() {
    let sim = sim(SimConfig::default()).await;
    let first_user = json!({"role": "user", "content": "Plan your research.\nResearch query: Which noise cancelling headphones under 400 should I buy?"});
    let (_, completion) = chat(&sim, &with_schema("plan", json!([first_user]))).await;
    let plan = plan_of(&completion);
    let steps: Vec<&str> = plan.lines().collect();
    assert_eq!(steps.len(), 4, "{plan}");
    assert!(steps[0].starts_with("Search the catalog for \"noise cancelling headphones\""), "{plan}");

    let revised = with_schema(
        "plan",
        json!([
            first_user,
            {"role": "assistant", "content": json!({"steps": plan.lines().collect::<Vec<_>>()}).to_string()},
            {"role": "user", "content": "Feedback on your plan: say how candidates are compared."}
        ]),
    );
    let revised = plan_of(&chat(&sim, &revised).await.1);
    assert!(revised.lines().count() > 4, "{revised}");
    assert!(revised.contains("Compare candidates on price, rating and review evidence"), "{revised}");
}

async fn verdict(sim: &productresearch_sim_llm::SimHandle, check: &str, attempt: u32) -> Value {
    let text = format!("Review the agent's work.\nCheck: {check}\nAttempt: {attempt}\n\nThe work: ...");
    let request = with_schema("verdict", json!([{"role": "system", "content": "You supervise."}, {"role": "user", "content": text}]));
    content_json(&chat(sim, &request).await.1)
}

#[tokio::test]
async fn verdict_rejects_first_plan_and_report_then_approves() {
    let sim = sim(SimConfig::default()).await;
    for check in ["plan", "report"] {
        let first = verdict(&sim, check, 1).await;
        assert_eq!(first["decision"], "revise", "{check}");
        assert!(first["feedback"].as_str().unwrap().len() > 20);
        let second = verdict(&sim, check, 2).await;
        assert_eq!(second, json!({"decision": "approve", "feedback": ""}), "{check}");
    }
    assert_eq!(verdict(&sim, "toolcall", 1).await["decision"], "approve");
    sim.shutdown().await;

    let lenient = SimConfig { reject_first_plan: false, reject_first_report: false, ..SimConfig::default() };
    let sim = crate::sim(lenient).await;
    assert_eq!(verdict(&sim, "plan", 1).await["decision"], "approve");
    assert_eq!(verdict(&sim, "report", 1).await["decision"], "approve");
}

#[tokio::test]
async fn reflection_is_first_person_and_names_no_critic() {
    let sim = sim(SimConfig::default()).await;
    let text = "Your report was sent back.\nFeedback: The reviewer found that several recommendations \
                lack evidence; cite the product id behind each recommendation.";
    let request = with_schema("reflection", json!([{"role": "user", "content": text}]));
    let reflection = content_json(&chat(&sim, &request).await.1)["reflection"].as_str().unwrap().to_owned();
    // Forethought in its own words: the topics, no phrase of the critique.
    assert!(reflection.starts_with("Before I go on, I make sure the next step gets "), "{reflection}");
    assert!(reflection.contains("recommendations, evidence, product"), "{reflection}");
    assert!(!reflection.contains("cite the product id behind"), "{reflection}");
    let lower = reflection.to_lowercase();
    for banned in ["supervisor", "reviewer", "feedback"] {
        assert!(!lower.contains(banned), "{reflection}");
    }
}

#[tokio::test]
async fn other_requests_get_plain_text_or_json_when_asked() {
    let sim = sim(SimConfig::default()).await;
    let plain = json!({"model": "m", "messages": [{"role": "user", "content": "hello there"}]});
    let (_, completion) = chat(&sim, &plain).await;
    assert!(message(&completion)["content"].as_str().unwrap().contains("hello there"));
    assert!(message(&completion).get("tool_calls").is_none());

    let json_object = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_object"}});
    let (_, completion) = chat(&sim, &json_object).await;
    assert!(content_json(&completion)["answer"].is_string());
}
