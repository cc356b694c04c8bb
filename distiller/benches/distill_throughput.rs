//! Distill throughput without model calls, on trajectories of about 64k tokens
//! each (target: ≥ 200 trajectories/s on the project's 2-core machines).
//!
//! Trajectories are built from real text: each of the 100 DeepResearch Bench
//! queries is researched by ~18 tool calls whose results are the bench's
//! reports, with a rejected plan, a rejected call and a rejected first report
//! (so internalization has work to do), and a final report citing the URLs the
//! tools returned (so grounding checks them). Run:
//!
//! ```sh
//! cargo bench -p distiller --bench distill_throughput
//! ```

use std::time::Instant;

use distiller::{DistillOptions, ReflectionTable, TokenCounter};
use productresearch_record::{
    EventBody, Intent, Step, StepKind, SupervisorState, Termination, TerminationReason, TokenUsage, ToolCall, ToolResult, Trajectory,
    Verdict,
};
use serde_json::Value;

const BENCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/deepresearch_bench");
const TARGET_TOKENS: usize = 64_000;

fn jsonl(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn trajectory(i: usize, query: &str, articles: &[String], tokens: &TokenCounter) -> Trajectory {
    let mut t = Trajectory::new(format!("bench-{i}"), format!("user-{i}"));
    t.trace_id = format!("{i:032x}");
    t.models.insert("research-agent".into(), "bench-model".into());
    let rubric = productresearch_record::fixtures::rubric();
    t.push(0, EventBody::Intent(Intent { persona: "a buyer".into(), query: query.into(), rubric, follow_ups: Vec::new() }));
    let u = TokenUsage::default;
    let step = |t: &mut Trajectory, round: u32, s: Step, v: Verdict| {
        t.push(round, EventBody::Step(s));
        t.push(round, EventBody::Verdict(v));
    };
    step(
        &mut t,
        0,
        Step::text(StepKind::Plan, "1. search", u(), "m"),
        Verdict::revise(SupervisorState::CheckPlan, "The plan does not compare prices. Add a price comparison."),
    );
    step(&mut t, 0, Step::text(StepKind::Plan, "1. search\n2. compare prices", u(), "m"), Verdict::approve(SupervisorState::CheckPlan));
    let call = |id: String, url: &str| ToolCall { id, name: "web_visit".into(), arguments: format!(r#"{{"url":"{url}"}}"#) };
    step(
        &mut t,
        0,
        Step::call(call("c-x".into(), "https://x.example/0"), "first look", u(), "m"),
        Verdict::revise(SupervisorState::CheckToolcall, "Reviewer: search before visiting."),
    );
    let (mut total, mut k, mut urls) = (0, 0, Vec::new());
    while total < TARGET_TOKENS - 6_000 {
        let article = &articles[(i + k) % articles.len()];
        let url = format!("https://source{k}.example/{i}");
        let content = format!("{url}\n{article}");
        total += tokens.count(&content);
        let id = format!("c{k}");
        let round = if k < 2 { 0 } else { 1 };
        step(
            &mut t,
            round,
            Step::call(call(id.clone(), &url), format!("reading source {k}"), u(), "m"),
            Verdict::approve(SupervisorState::CheckToolcall),
        );
        step(
            &mut t,
            round,
            Step::result(ToolResult { call_id: id, name: "web_visit".into(), content, is_error: false }),
            Verdict::approve(SupervisorState::CheckToolcall),
        );
        urls.push(url);
        k += 1;
        if k == 2 {
            step(
                &mut t,
                1,
                Step::text(StepKind::Report, "Draft report.", u(), "m"),
                Verdict::revise(SupervisorState::CheckReport, "Cite your sources."),
            );
        }
    }
    let report = format!("Findings, with sources: {}.", urls.join(", "));
    step(&mut t, 2, Step::text(StepKind::Report, &report, u(), "m"), Verdict::approve(SupervisorState::CheckReport));
    t.push(2, EventBody::Termination(Termination::new(TerminationReason::Approved, "")));
    t
}

fn main() {
    let queries: Vec<String> = jsonl(&format!("{BENCH}/query.jsonl")).iter().map(|q| q["prompt"].as_str().unwrap().to_string()).collect();
    let articles: Vec<String> = jsonl(&format!("{BENCH}/reference_model_outputs/claude-3-7-sonnet-latest.cleaned.jsonl"))
        .iter()
        .map(|r| r["article"].as_str().unwrap().to_string())
        .collect();
    let opts = DistillOptions::from_config(&distiller::Config::default()).unwrap();
    let trajectories: Vec<Trajectory> = queries.iter().enumerate().map(|(i, q)| trajectory(i, q, &articles, &opts.tokenizer)).collect();
    let n = trajectories.len();
    let bytes: usize = trajectories.iter().map(|t| serde_json::to_string(t).unwrap().len()).sum();

    let warm = distiller::distill(&trajectories[..4], &[], &opts, &ReflectionTable::new()).unwrap();
    assert_eq!(warm.examples.len(), 4, "{:?}", warm.drops);
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..3 {
        let start = Instant::now();
        let d = distiller::distill(&trajectories, &[], &opts, &ReflectionTable::new()).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(d);
    }
    let out = out.unwrap();
    let tokens: usize = out.examples.iter().map(|e| e.tokens).sum();
    println!(
        "distill (no model calls): {n} trajectories, {:.0} tokens each on average ({} by {}), {:.1} MB of records",
        tokens as f64 / out.examples.len().max(1) as f64,
        out.examples.len(),
        opts.tokenizer.name(),
        bytes as f64 / 1e6
    );
    println!(
        "  best of 3: {best:.3} s = {:.1} trajectories/s, {:.2} M tokens/s ({} threads)",
        n as f64 / best,
        tokens as f64 / best / 1e6,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    // Where the time goes: the same text through the tokenizer alone.
    let texts: Vec<String> = out.examples.iter().map(|e| distiller::format::hermes_text(&e.value)).collect();
    let start = Instant::now();
    let counted: usize = texts.iter().map(|t| opts.tokenizer.count(t)).sum();
    let tok = start.elapsed().as_secs_f64();
    println!("  of which token counting alone (1 thread): {tok:.3} s ({:.1} trajectories/s, {counted} tokens)", n as f64 / tok);

    // The same text through tiktoken-rs, the reference implementation of the
    // encoding: same count, and how much faster the default counter is.
    let start = Instant::now();
    let reference: usize = texts.iter().map(|t| tiktoken_rs::o200k_base_singleton().encode_ordinary(t).len()).sum();
    let slow = start.elapsed().as_secs_f64();
    assert_eq!(reference, counted, "tiktoken-rs and the default counter disagree");
    println!("  tiktoken-rs encode_ordinary on the same text (1 thread): {slow:.3} s ({:.1} trajectories/s, same count)", n as f64 / slow);
}
