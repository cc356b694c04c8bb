//! Prompt refs travel with steps and verdicts, collect on the trajectory, and
//! survive the proto round trip.

use productresearch_proto::common::v1 as pb;
use productresearch_record::{EventBody, PromptRef, Step, StepKind, SupervisorState, TokenUsage, Trajectory, Verdict};

fn r(name: &str) -> PromptRef {
    PromptRef { name: name.into(), sha256: format!("{:0>64}", name.len()) }
}

#[test]
fn pushed_steps_and_verdicts_add_their_prompts_once_sorted() {
    let mut t = Trajectory::new("t-1", "u-1");
    t.add_prompts(&[r("user_agent/intent_system"), r("user_agent/history")]);
    let mut plan = Step::text(StepKind::Plan, "1. search", TokenUsage::default(), "m");
    plan.prompts = vec![r("research_agent/system"), r("research_agent/plan")];
    t.push(1, EventBody::Step(plan.clone()));
    let mut verdict = Verdict::approve(SupervisorState::CheckPlan);
    verdict.prompts = vec![r("supervisor/system"), r("supervisor/check_plan"), r("research_agent/plan")];
    t.push(1, EventBody::Verdict(verdict));
    let names: Vec<&str> = t.prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "research_agent/plan",
            "research_agent/system",
            "supervisor/check_plan",
            "supervisor/system",
            "user_agent/history",
            "user_agent/intent_system"
        ]
    );
    // JSON: present on the step, absent when empty.
    let json = serde_json::to_value(&t.events[0]).unwrap();
    assert_eq!(json["prompts"][0]["name"], "research_agent/system");
    let bare = serde_json::to_value(Step::text(StepKind::Plan, "p", TokenUsage::default(), "m")).unwrap();
    assert!(bare.get("prompts").is_none());
    // Proto round trip.
    let back = Trajectory::try_from(pb::Trajectory::from(t.clone())).unwrap();
    assert_eq!(back.prompts, t.prompts);
    let EventBody::Step(step) = &back.events[0].body else { panic!("step") };
    assert_eq!(step.prompts, plan.prompts);
}
