//! Steps carry the prompt templates their model saw; a broken override fails
//! the next step with a message naming the template.

use std::sync::Arc;

use productresearch_llm::{EndpointConfig, LlmClient};
use productresearch_prompts::PromptSet;
use productresearch_record::*;
use research_agent::{Failure, Session, Tools};

struct NoTools;

impl Tools for NoTools {
    async fn list(&self) -> Result<Vec<ToolSpec>, String> {
        Ok(fixtures::tools())
    }

    async fn call(&self, _: &str, call_id: &str, name: &str, _: &str) -> Result<ToolResult, String> {
        Ok(ToolResult { call_id: call_id.into(), name: name.into(), content: "{}".into(), is_error: false })
    }
}

fn session(llm: &LlmClient, prompts: PromptSet) -> Session<NoTools> {
    let intent = fixtures::intent("Which noise cancelling headphones should I buy under $300?");
    Session::with_prompts(llm.clone(), Arc::new(NoTools), fixtures::tools(), "t-1".into(), &intent, 3, prompts)
}

#[tokio::test]
async fn steps_name_the_templates_in_their_context_and_bad_templates_fail_clearly() {
    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.unwrap();
    let llm = LlmClient::new(EndpointConfig::new(sim.base_url(), "sim-model")).unwrap();
    let builtin = PromptSet::builtin();

    let mut s = session(&llm, builtin.clone());
    let plan = s.next_step().await.unwrap();
    let refs = |names: &[&str]| names.iter().map(|n| builtin.reference(n).unwrap()).collect::<Vec<_>>();
    assert_eq!(plan.prompts, refs(&["research_agent/plan", "research_agent/system"]));
    s.apply(&plan, &Verdict::revise(SupervisorState::CheckPlan, "Add prices."));
    let revised = s.next_step().await.unwrap();
    assert_eq!(revised.prompts, refs(&["research_agent/plan", "research_agent/plan_feedback", "research_agent/system"]));

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("research_agent")).unwrap();
    std::fs::write(dir.path().join("research_agent/plan.j2"), "Research query: {{ query }} for {{ shopper_age }}").unwrap();
    let mut broken = session(&llm, PromptSet::load(Some(dir.path())).unwrap());
    match broken.next_step().await {
        Err(Failure::Model { detail, transient: false }) => assert!(detail.contains("research_agent/plan"), "{detail}"),
        other => panic!("expected a model failure naming the template, got {other:?}"),
    }
    sim.shutdown().await;
}
