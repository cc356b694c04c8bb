//! One distillation: filter, internalize, export, validate and count a batch
//! of trajectories, without any network (model reflections, when wanted, are
//! computed beforehand by [`crate::model_reflection`] and passed in).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use productresearch_record::{EventBody, ToolSpec, Trajectory};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::dedup::Seen;
use crate::error::Error;
use crate::filter::{self, Decisions, Filter, FilterConfig, Rejection};
use crate::model_reflection::{ReflectionTable, TrajectoryReflections};
use crate::tokens::{Bucket, TokenCounter};
use crate::{export, format, internalize, validate};

/// What a distillation keeps and how examples open.
#[derive(Debug, Clone)]
pub struct DistillOptions {
    /// The filters.
    pub filters: FilterConfig,
    /// Longest example kept.
    pub bucket: Bucket,
    /// Counts tokens.
    pub tokenizer: TokenCounter,
    /// The system message of every example.
    pub system_prompt: String,
    /// Id of the tool snapshot the trajectories were made with (a record/replay
    /// store id or catalog index id), exported as lineage when known.
    pub tool_snapshot: Option<String>,
}

impl DistillOptions {
    /// The configured defaults (the tokenizer loaded).
    pub fn from_config(config: &Config) -> Result<Self, Error> {
        let mut filters = config.filters.clone();
        filters.min_assistant_turns = config.min_assistant_turns;
        filters.min_tool_calls = config.min_tool_calls;
        Ok(Self {
            filters,
            bucket: config.bucket,
            tokenizer: TokenCounter::from_spec(&config.tokenizer)?,
            system_prompt: config.system_prompt.clone(),
            tool_snapshot: None,
        })
    }

    /// These options with a request's thresholds, where it sets them (non-zero).
    pub fn with_overrides(mut self, min_assistant_turns: u32, min_tool_calls: u32) -> Self {
        if min_assistant_turns != 0 {
            self.filters.min_assistant_turns = min_assistant_turns;
        }
        if min_tool_calls != 0 {
            self.filters.min_tool_calls = min_tool_calls;
        }
        self
    }
}

/// One exported example.
#[derive(Debug, Clone, PartialEq)]
pub struct SftExample {
    /// Trajectory it came from.
    pub trajectory_id: String,
    /// The example in the OpenAI chat format (see [`crate::export`]), validated.
    pub value: Value,
    /// Tokens of its training text.
    pub tokens: usize,
    /// The smallest bucket it fits.
    pub bucket: Bucket,
    /// Assistant turns.
    pub assistant_turns: usize,
    /// Tool calls.
    pub tool_calls: usize,
    /// Its shape (tool sequence, report layout, query, category), for the
    /// dataset's diversity figures.
    pub shape: crate::diversity::Shape,
}

impl SftExample {
    /// The OpenAI-chat form as one JSON line.
    pub fn json(&self) -> String {
        self.value.to_string()
    }
}

/// A trajectory that did not become an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Trajectory id.
    pub trajectory_id: String,
    /// The filter that dropped it.
    pub filter: Filter,
    /// What the filter found.
    pub reason: String,
    /// The filters it passed before, with what each measured (for `--explain`).
    pub passed: Vec<filter::Decision>,
}

/// The outcome of a distillation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distilled {
    /// One example per kept trajectory, in input order.
    pub examples: Vec<SftExample>,
    /// The others, in input order.
    pub drops: Vec<Dropped>,
}

impl Distilled {
    /// Trajectories each filter dropped, every filter listed (0 included), in
    /// filter order.
    pub fn drop_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts: BTreeMap<&'static str, usize> = Filter::ORDER.iter().map(|f| (f.name(), 0)).collect();
        for d in &self.drops {
            *counts.entry(d.filter.name()).or_default() += 1;
        }
        counts
    }
}

/// Filters `trajectories`, internalizes the kept ones (with `reflections` where
/// the model wrote them) and exports them with `tools`. Every example is
/// validated; a violation fails the whole call with [`Error::InvalidExample`]
/// rather than exporting or silently dropping it.
pub fn distill(
    trajectories: &[Trajectory],
    tools: &[ToolSpec],
    opts: &DistillOptions,
    reflections: &ReflectionTable,
) -> Result<Distilled, Error> {
    let mut out = Distilled::default();
    let tools_sha256 = tools_hash(tools);
    let none = TrajectoryReflections::default();
    // Each trajectory is independent until the near-duplicate filter, and token
    // counting dominates: spread them over the cores, each worker taking the
    // next trajectory when it is free (their lengths and scripts vary, so
    // fixed shares would leave a core idle), keeping input order.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, trajectories.len().max(1));
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<Result<Outcome, Error>>> = Vec::new();
    slots.resize_with(trajectories.len(), || None);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (next, tools_sha256, none) = (&next, &tools_sha256, &none);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(t) = trajectories.get(i) else { break };
                        let mut decisions = Decisions::default();
                        let mine = reflections.get(&t.trajectory_id).unwrap_or(none);
                        done.push((i, one(t, tools, tools_sha256, opts, mine, &mut decisions).map(|r| (r, decisions))));
                    }
                    done
                })
            })
            .collect();
        for w in workers {
            for (i, r) in w.join().expect("a distill worker panicked") {
                slots[i] = Some(r);
            }
        }
    });
    let results = slots.into_iter().map(|s| s.expect("every trajectory was taken by a worker")).collect::<Result<Vec<_>, Error>>()?;
    // Kept so far, waiting for the dataset-wide near-duplicate filter.
    let mut kept: Vec<(SftExample, String)> = Vec::new();
    for (trajectory, (result, decisions)) in trajectories.iter().zip(results) {
        match result {
            Ok(example) => {
                let query = trajectory.intent().map(|i| i.query.clone()).unwrap_or_default();
                kept.push((example, query));
            }
            Err(r) => {
                tracing::debug!(trajectory_id = %trajectory.trajectory_id, filter = %r.filter, reason = %r.reason, "trajectory dropped");
                out.drops.push(Dropped {
                    trajectory_id: trajectory.trajectory_id.clone(),
                    filter: r.filter,
                    reason: r.reason,
                    passed: decisions.0,
                });
            }
        }
    }
    // The first of near-duplicate queries (in input order) is the one kept.
    let threshold = opts.filters.near_duplicate_jaccard;
    let mut seen = Seen::default();
    for (mut example, query) in kept {
        if threshold > 0.0
            && let Err((other, similarity)) = seen.admit(&example.trajectory_id, &query, threshold)
        {
            let passed = serde_json::from_value(example.value["meta"]["filters"].clone()).unwrap_or_default();
            out.drops.push(Dropped {
                trajectory_id: example.trajectory_id,
                filter: Filter::NearDuplicate,
                reason: format!("query is {similarity:.2} similar (token Jaccard) to the query of {other}, kept earlier"),
                passed: decisions_from_meta(passed),
            });
            continue;
        }
        let detail = if threshold > 0.0 { format!("no kept query ≥ {threshold} similar") } else { "off".to_string() };
        if let Some(filters) = example.value["meta"]["filters"].as_array_mut() {
            filters.push(json!({"filter": Filter::NearDuplicate, "detail": detail}));
        }
        out.examples.push(example);
    }
    Ok(out)
}

fn decisions_from_meta(values: Vec<Value>) -> Vec<filter::Decision> {
    values
        .iter()
        .filter_map(|v| {
            let name = v["filter"].as_str()?;
            let filter = Filter::ORDER.into_iter().find(|f| f.name() == name)?;
            Some(filter::Decision { filter, detail: v["detail"].as_str().unwrap_or_default().to_string() })
        })
        .collect()
}

/// What [`one`] made of a trajectory, and the filters' decisions on the way.
type Outcome = (Result<SftExample, Rejection>, Decisions);

/// One trajectory through the per-trajectory filters: the example, or the
/// rejection (the outer error is a validation failure, which fails the batch).
fn one(
    trajectory: &Trajectory,
    tools: &[ToolSpec],
    tools_sha256: &str,
    opts: &DistillOptions,
    reflections: &TrajectoryReflections,
    decisions: &mut Decisions,
) -> Result<Result<SftExample, Rejection>, Error> {
    let id = &trajectory.trajectory_id;
    if let Err(r) = filter::screen_into(trajectory, &opts.filters, decisions) {
        return Ok(Err(r));
    }
    let final_seq = internalize::final_report_seq(trajectory, opts.filters.require_approval);
    let echo_words = opts.filters.feedback_echo_words as usize;
    let internalized = internalize::internalize_with(trajectory, &opts.system_prompt, &reflections.by_seq, final_seq, echo_words);
    if let Err(r) = filter::depth(&internalized, opts.filters.min_assistant_turns, decisions) {
        return Ok(Err(r));
    }
    if let Err(r) = filter::content(trajectory, &internalized, &opts.filters, decisions) {
        return Ok(Err(r));
    }
    let mut value = export::example(trajectory, &internalized, tools);
    validate::check(&value).map_err(|v| Error::InvalidExample { trajectory_id: id.clone(), rule: v.rule, detail: v.detail })?;

    let tokens = opts.tokenizer.count(&format::hermes_text(&value));
    let limit = opts.bucket.limit();
    if tokens > limit {
        return Ok(Err(Rejection::new(
            Filter::TokenLength,
            format!("{tokens} tokens ({}), more than the {} bucket's {limit}", opts.tokenizer.name(), opts.bucket.name()),
        )));
    }
    let bucket = Bucket::of(tokens).expect("within the chosen bucket, so within the largest");
    decisions.pass(Filter::TokenLength, format!("{tokens} <= {limit}"));

    // Lineage: everything needed to trace the example back and re-run it.
    let meta = &mut value["meta"];
    meta["filters"] = serde_json::to_value(&decisions.0).unwrap_or_default();
    meta["tokens"] = json!(tokens);
    meta["tokenizer"] = json!(opts.tokenizer.name());
    meta["bucket"] = json!(bucket.name());
    meta["tools_sha256"] = json!(tools_sha256);
    // The record's own snapshot id wins over the one the caller named.
    let snapshot = Some(trajectory.tool_snapshot.as_str()).filter(|s| !s.is_empty()).or(opts.tool_snapshot.as_deref());
    meta["tool_snapshot"] = json!(snapshot);
    meta["reflections"] = reflections.lineage(internalized.rejections_internalized);
    meta["prompts"] = prompts_lineage(trajectory, reflections);
    meta["distiller_version"] = json!(env!("CARGO_PKG_VERSION"));
    Ok(Ok(SftExample {
        trajectory_id: id.clone(),
        tokens,
        bucket,
        assistant_turns: internalized.assistant_turns(),
        tool_calls: internalized.tool_calls as usize,
        shape: crate::diversity::Shape::of(&internalized.messages),
        value,
    }))
}

/// SHA-256 of the tool schemas the examples are exported with.
fn tools_hash(tools: &[ToolSpec]) -> String {
    let mut h = Sha256::new();
    for t in tools {
        h.update(t.name.as_bytes());
        h.update([0]);
        h.update(t.parameters.to_string().as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// Prompt templates (name → sha256) behind the example: those the record names
/// (the trajectory's, each step's and each verdict's) and the reflection
/// templates when the model wrote reflections.
fn prompts_lineage<'a>(trajectory: &'a Trajectory, reflections: &'a TrajectoryReflections) -> Value {
    let mut prompts: BTreeMap<&str, &str> = BTreeMap::new();
    let mut add = |refs: &'a [productresearch_record::PromptRef]| {
        for p in refs {
            prompts.insert(&p.name, &p.sha256);
        }
    };
    add(&trajectory.prompts);
    for event in &trajectory.events {
        match &event.body {
            EventBody::Step(s) => add(&s.prompts),
            EventBody::Verdict(v) => add(&v.prompts),
            _ => {}
        }
    }
    add(&reflections.prompts);
    json!(prompts)
}

#[cfg(test)]
mod tests {
    use productresearch_record::TerminationReason;

    use super::*;
    use crate::internalize::tests::{Script, supervised};

    fn opts() -> DistillOptions {
        DistillOptions::from_config(&Config::default()).unwrap()
    }

    fn run(ts: Vec<Trajectory>, o: &DistillOptions) -> Distilled {
        distill(&ts, &[], o, &ReflectionTable::new()).unwrap()
    }

    #[test]
    fn keeps_good_and_names_the_filter_of_each_drop() {
        let shallow = Script::new("shallow", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", "{}", "x")
            .report("r", None)
            .end(TerminationReason::Approved);
        let unapproved = Script::new("unapproved", "q").plan("p", "", None).report("r", Some("thin")).end(TerminationReason::RoundCap);
        let out = run(vec![unapproved, supervised(), shallow], &opts());
        assert_eq!(out.examples.iter().map(|e| e.trajectory_id.as_str()).collect::<Vec<_>>(), ["traj-1"]);
        let drops: Vec<(&str, &str)> = out.drops.iter().map(|d| (d.trajectory_id.as_str(), d.filter.name())).collect();
        assert_eq!(drops, [("unapproved", "approved"), ("shallow", "min_tool_calls")]);
        // --explain shows what the dropped one passed before.
        assert_eq!(out.drops[1].passed.iter().map(|d| d.filter.name()).collect::<Vec<_>>(), ["structure", "no_query", "approved"]);
        let counts = out.drop_counts();
        assert_eq!((counts["approved"], counts["min_tool_calls"], counts["grounding"]), (1, 1, 0));
    }

    #[test]
    fn every_example_carries_its_lineage() {
        let mut t = supervised();
        if let EventBody::Step(s) = &mut t.events[1].body {
            s.prompts.push(productresearch_record::PromptRef { name: "research_agent/plan".into(), sha256: "ab12".into() });
        }
        let out = run(vec![t], &DistillOptions { tool_snapshot: Some("catalog-index:abc".into()), ..opts() });
        let e = &out.examples[0];
        let meta = &e.value["meta"];
        assert_eq!(meta["trajectory_id"], "traj-1");
        assert_eq!(meta["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(meta["models"]["research-agent"], "qwen3-4b");
        assert_eq!(meta["tool_snapshot"], "catalog-index:abc");
        assert_eq!(meta["tools_sha256"].as_str().unwrap().len(), 64);
        assert_eq!(meta["tokenizer"], "tiktoken:o200k_base");
        assert_eq!(meta["tokens"], e.tokens);
        assert_eq!(meta["bucket"], "32k");
        assert_eq!(meta["reflections"]["by_rules"], 3);
        assert_eq!(meta["prompts"], json!({"research_agent/plan": "ab12"}));
        let filters: Vec<&str> = meta["filters"].as_array().unwrap().iter().map(|f| f["filter"].as_str().unwrap()).collect();
        assert_eq!(filters, Filter::ORDER.map(Filter::name));
        // The count is the real tokenizer's count of the training text.
        assert_eq!(e.tokens, TokenCounter::o200k().count(&format::hermes_text(&e.value)));
        assert!(e.tokens > 100 && e.tokens < 1000, "{}", e.tokens);
    }

    #[test]
    fn near_duplicate_queries_keep_the_first() {
        let a = supervised();
        let mut b = supervised();
        b.trajectory_id = "traj-2".into();
        let mut c = supervised();
        c.trajectory_id = "traj-3".into();
        if let EventBody::Intent(i) = &mut c.events[0].body {
            i.query = "Quiet over-ear headphones for flights under $300?".into();
        }
        let out = run(vec![a, b, c], &opts());
        assert_eq!(out.examples.iter().map(|e| e.trajectory_id.as_str()).collect::<Vec<_>>(), ["traj-1", "traj-3"]);
        assert_eq!(out.drops[0].filter, Filter::NearDuplicate);
        assert!(out.drops[0].reason.contains("1.00 similar") && out.drops[0].reason.contains("traj-1"), "{}", out.drops[0].reason);
        assert_eq!(out.drops[0].passed.len(), Filter::ORDER.len() - 1, "every other filter passed");
        // Off, both stay.
        let mut o = opts();
        o.filters.near_duplicate_jaccard = 0.0;
        let mut b = supervised();
        b.trajectory_id = "x".into();
        assert_eq!(run(vec![supervised(), b], &o).examples.len(), 2);
    }

    #[test]
    fn token_length_drops_what_the_bucket_cannot_hold() {
        let long = "Ninja BN701 review: crushes ice in 10 s. ".repeat(4000); // ~40k tokens
        let t = Script::new("long", "Which blender?")
            .plan("p", "", None)
            .tool("c1", "web_search", r#"{"query":"x"}"#, &long)
            .tool("c2", "web_visit", r#"{"url":"https://a.example"}"#, "ok")
            .report("Buy the Ninja: it crushes ice in 10 s (https://a.example).", None)
            .end(TerminationReason::Approved);
        let o32 = DistillOptions { bucket: Bucket::K32, ..opts() };
        let out = run(vec![t.clone()], &o32);
        assert_eq!(out.drops[0].filter, Filter::TokenLength);
        assert!(out.drops[0].reason.contains("32k bucket's 32768"), "{}", out.drops[0].reason);
        let out = run(vec![t], &opts());
        assert_eq!(out.examples[0].bucket, Bucket::K64);
    }

    #[test]
    fn overrides_apply_only_when_set() {
        let o = opts().with_overrides(0, 7);
        assert_eq!((o.filters.min_assistant_turns, o.filters.min_tool_calls), (3, 7));
        let out = run(vec![supervised()], &opts().with_overrides(6, 0));
        assert_eq!(out.drops[0].filter, Filter::MinAssistantTurns);
    }

    #[test]
    fn an_invalid_example_fails_loudly_with_trajectory_and_rule() {
        // An empty system prompt yields an example the validator must refuse.
        let bad = DistillOptions { system_prompt: String::new(), ..opts() };
        let err = distill(&[supervised()], &[], &bad, &ReflectionTable::new()).unwrap_err();
        assert!(matches!(&err, Error::InvalidExample { trajectory_id, rule: "opening", .. } if trajectory_id == "traj-1"), "{err}");
        assert!(err.to_string().contains("traj-1") && err.to_string().contains("opening"), "{err}");
    }

    #[test]
    fn model_reflections_replace_the_rule_based_ones() {
        let t = supervised();
        let plan_seq = t.steps()[0].0.seq;
        let mut table = ReflectionTable::new();
        let mine = TrajectoryReflections {
            by_seq: [(plan_seq, "I forgot warranties; I will compare them.".to_string())].into(),
            model: Some("m".into()),
            ..Default::default()
        };
        table.insert("traj-1".into(), mine);
        let out = distill(&[t], &[], &opts(), &table).unwrap();
        let v = &out.examples[0].value;
        assert!(v["messages"][2]["reasoning_content"].as_str().unwrap().starts_with("I forgot warranties; I will compare them."));
        assert_eq!(v["meta"]["reflections"]["by_model"], 1);
        assert_eq!(v["meta"]["reflections"]["by_rules"], 2);
    }
}
