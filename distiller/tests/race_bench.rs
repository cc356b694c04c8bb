//! RACE scoring on DeepResearch Bench's own criteria (task 83, payment tablets),
//! with a hand-written judgement whose scores are worked out below.

use std::path::{Path, PathBuf};

use distiller::race::{self, JudgeScores, MatchMethod};
use productresearch_record::{Dimension, Rubric};
use serde_json::{Value, json};

const BENCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/deepresearch_bench");
const EPS: f64 = 1e-9;

fn bench_dir() -> Option<PathBuf> {
    let dir = Path::new(BENCH);
    if dir.join("criteria.jsonl").is_file() {
        Some(dir.to_path_buf())
    } else {
        println!("skip: no DeepResearch Bench data at {BENCH}");
        None
    }
}

fn criteria_rows(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("criteria.jsonl")).expect("read criteria.jsonl");
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("criteria row is json")).collect()
}

/// The bench stores `id` as a number (the README shows a string); accept both.
fn row_id(row: &Value) -> String {
    match &row["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn texts(rubric: &Rubric, d: Dimension) -> Vec<String> {
    rubric.dimension(d).unwrap().criteria.iter().map(|c| c.criterion.clone()).collect()
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() < EPS, "{what}: {actual} != {expected}");
}

#[test]
fn every_bench_row_loads_as_a_rubric() {
    let Some(dir) = bench_dir() else { return };
    let rows = criteria_rows(&dir);
    assert_eq!(rows.len(), 100);
    for row in &rows {
        let rubric = race::rubric_from_bench(row).unwrap_or_else(|e| panic!("task {}: {e}", row_id(row)));
        assert_eq!(rubric.dimensions.len(), 4);
        for d in &rubric.dimensions {
            let sum: f64 = d.criteria.iter().map(|c| c.weight).sum();
            assert!((sum - 1.0).abs() < 1e-9, "task {} {}", row_id(row), d.dimension.name());
            assert!(d.criteria.iter().all(|c| !c.explanation.is_empty()));
        }
    }
}

#[test]
fn task_83_hand_scored_judgement() {
    let Some(dir) = bench_dir() else { return };
    let row = criteria_rows(&dir).into_iter().find(|r| row_id(r) == "83").expect("task 83 in criteria.jsonl");
    let rubric = race::rubric_from_bench(&row).unwrap();

    // Task 83's weights, as stored in criteria.jsonl:
    //   W: comprehensiveness 0.34, insight (depth) 0.23, instruction_following 0.28, readability 0.15
    let w = |d| rubric.dimension(d).unwrap().weight;
    close(w(Dimension::Comprehensiveness), 0.34, "W comprehensiveness");
    close(w(Dimension::Depth), 0.23, "W insight");
    close(w(Dimension::InstructionFollowing), 0.28, "W instruction_following");
    close(w(Dimension::Readability), 0.15, "W readability");

    let comp = texts(&rubric, Dimension::Comprehensiveness);
    let ins = texts(&rubric, Dimension::Depth);
    let inf = texts(&rubric, Dimension::InstructionFollowing);
    let read = texts(&rubric, Dimension::Readability);
    assert_eq!(comp[0], "Breadth of Manufacturer and Device Model Coverage");
    assert_eq!(comp[2], "Thoroughness in Identifying and Describing Primary Use Cases and Scenarios");
    assert_eq!((comp.len(), ins.len(), inf.len(), read.len()), (5, 5, 6, 7));

    let item = |c: &str, t: f64, r: f64| json!({"criterion": c, "analysis": "hand-written", "article_1_score": t, "article_2_score": r});
    let alt = |c: &str, t: f64, r: f64| json!({"criterion": c, "target_score": t, "reference_score": r});
    let judged = json!({
        // criterion weights 0.2 each
        "comprehensiveness": [
            item(&comp[0], 8.0, 5.0),                                       // exact
            item(&comp[1].to_uppercase(), 6.0, 7.0),                        // case-insensitive
            item("Primary Use Cases and Scenarios", 7.0, 6.0),              // substring of the rubric text
            item(&comp[3], 9.0, 4.0),                                       // exact
            item(&format!("{} (penetration, price)", comp[4]), 5.0, 5.0),   // rubric text is a substring of the judge's
        ],
        // the bench's key for depth; criterion weights 0.25, 0.3, 0.2, 0.15, 0.1; ins[2] missing
        "insight": [
            item(&ins[0], 6.0, 8.0),
            item(&ins[1], 7.0, 7.0),
            item(&ins[3], 5.0, 9.0),
            item(&ins[4], 10.0, 6.0),
            item("A criterion the rubric does not have", 0.0, 10.0),        // ignored
        ],
        // criterion weights 0.15, 0.25, 0.05, 0.15, 0.2, 0.2
        "instruction_following": [
            item(&inf[0], 9.0, 6.0),
            item(&inf[1], 8.0, 7.0),
            item(&inf[2], 2.0, 9.0),
            item(&inf[3], 7.0, 8.0),
            item(&inf[4], 6.0, 5.0),
            item(&inf[5], 8.0, 7.0),
        ],
        // criterion weights 0.2, 0.2, 0.15, 0.2, 0.1, 0.1, 0.05; the other key names
        "readability": [
            alt(&read[0], 7.0, 8.0),
            alt(&read[1], 8.0, 8.0),
            alt(&read[2], 6.0, 7.0),
            alt(&read[3], 5.0, 9.0),
            alt(&read[4], 9.0, 6.0),
            alt(&read[5], 7.0, 7.0),
            alt(&read[6], 10.0, 5.0),
        ],
    });
    let raw = format!("Scores below.\n```json\n{}\n```", serde_json::to_string_pretty(&judged).unwrap());
    let judged = JudgeScores::parse(&raw).unwrap();
    assert_eq!(judged.skipped, 0);
    let score = race::score(&rubric, &judged).unwrap();

    // comprehensiveness: t = 0.2·(8+6+7+9+5) = 0.2·35 = 7.0
    //                    r = 0.2·(5+7+6+4+5) = 0.2·27 = 5.4
    let (comp_t, comp_r) = (0.2 * (8.0 + 6.0 + 7.0 + 9.0 + 5.0), 0.2 * (5.0 + 7.0 + 6.0 + 4.0 + 5.0));
    close(comp_t, 7.0, "arithmetic");
    close(comp_r, 5.4, "arithmetic");

    // insight: ins[2] takes the mean of the 4 matched criteria:
    //   t̄ = (6+7+5+10)/4 = 7.0,  r̄ = (8+7+9+6)/4 = 7.5
    //   t = 0.25·6 + 0.3·7 + 0.2·7.0 + 0.15·5 + 0.1·10 = 1.5+2.1+1.4+0.75+1.0 = 6.75
    //   r = 0.25·8 + 0.3·7 + 0.2·7.5 + 0.15·9 + 0.1·6  = 2.0+2.1+1.5+1.35+0.6 = 7.55
    let (avg_t, avg_r) = ((6.0 + 7.0 + 5.0 + 10.0) / 4.0, (8.0 + 7.0 + 9.0 + 6.0) / 4.0);
    let ins_t = 0.25 * 6.0 + 0.3 * 7.0 + 0.2 * avg_t + 0.15 * 5.0 + 0.1 * 10.0;
    let ins_r = 0.25 * 8.0 + 0.3 * 7.0 + 0.2 * avg_r + 0.15 * 9.0 + 0.1 * 6.0;
    close(ins_t, 6.75, "arithmetic");
    close(ins_r, 7.55, "arithmetic");

    // instruction_following:
    //   t = 0.15·9 + 0.25·8 + 0.05·2 + 0.15·7 + 0.2·6 + 0.2·8 = 1.35+2.0+0.1+1.05+1.2+1.6 = 7.3
    //   r = 0.15·6 + 0.25·7 + 0.05·9 + 0.15·8 + 0.2·5 + 0.2·7 = 0.9+1.75+0.45+1.2+1.0+1.4 = 6.7
    let inf_t = 0.15 * 9.0 + 0.25 * 8.0 + 0.05 * 2.0 + 0.15 * 7.0 + 0.2 * 6.0 + 0.2 * 8.0;
    let inf_r = 0.15 * 6.0 + 0.25 * 7.0 + 0.05 * 9.0 + 0.15 * 8.0 + 0.2 * 5.0 + 0.2 * 7.0;
    close(inf_t, 7.3, "arithmetic");
    close(inf_r, 6.7, "arithmetic");

    // readability:
    //   t = 0.2·7 + 0.2·8 + 0.15·6 + 0.2·5 + 0.1·9 + 0.1·7 + 0.05·10 = 1.4+1.6+0.9+1.0+0.9+0.7+0.5  = 7.0
    //   r = 0.2·8 + 0.2·8 + 0.15·7 + 0.2·9 + 0.1·6 + 0.1·7 + 0.05·5  = 1.6+1.6+1.05+1.8+0.6+0.7+0.25 = 7.6
    let read_t = 0.2 * 7.0 + 0.2 * 8.0 + 0.15 * 6.0 + 0.2 * 5.0 + 0.1 * 9.0 + 0.1 * 7.0 + 0.05 * 10.0;
    let read_r = 0.2 * 8.0 + 0.2 * 8.0 + 0.15 * 7.0 + 0.2 * 9.0 + 0.1 * 6.0 + 0.1 * 7.0 + 0.05 * 5.0;
    close(read_t, 7.0, "arithmetic");
    close(read_r, 7.6, "arithmetic");

    // S_t = 0.34·7.0 + 0.23·6.75 + 0.28·7.3 + 0.15·7.0 = 2.38 + 1.5525 + 2.044 + 1.05 = 7.0265
    // S_r = 0.34·5.4 + 0.23·7.55 + 0.28·6.7 + 0.15·7.6 = 1.836 + 1.7365 + 1.876 + 1.14 = 6.5885
    // overall = 7.0265 / (7.0265 + 6.5885) = 7.0265 / 13.615 ≈ 0.516085
    let s_t = 0.34 * comp_t + 0.23 * ins_t + 0.28 * inf_t + 0.15 * read_t;
    let s_r = 0.34 * comp_r + 0.23 * ins_r + 0.28 * inf_r + 0.15 * read_r;
    close(s_t, 7.0265, "arithmetic");
    close(s_r, 6.5885, "arithmetic");
    close(score.target, 7.0265, "S target");
    close(score.reference, 6.5885, "S reference");
    close(score.overall, 7.0265 / 13.615, "overall");
    assert!((score.overall - 0.516085).abs() < 1e-6);

    let expected = [
        (Dimension::Comprehensiveness, 7.0, 5.4),
        (Dimension::Depth, 6.75, 7.55),
        (Dimension::InstructionFollowing, 7.3, 6.7),
        (Dimension::Readability, 7.0, 7.6),
    ];
    assert_eq!(score.dimensions.len(), 4);
    for ((d, t, r), got) in expected.iter().zip(&score.dimensions) {
        assert_eq!(got.dimension, *d);
        close(got.target, *t, d.name());
        close(got.reference, *r, d.name());
        // relative: 7/12.4, 6.75/14.3, 7.3/14.0, 7/14.6
        close(got.relative, t / (t + r), d.name());
    }

    // 23 criteria: 5 + 5 + 6 + 7; comprehensiveness has 1 case-insensitive and
    // 2 substring matches, insight 1 fallback, everything else exact.
    assert_eq!(score.matches.case_insensitive, 1);
    assert_eq!(score.matches.substring, 2);
    assert_eq!(score.matches.dimension_average, 1);
    assert_eq!(score.matches.exact, 19);
    assert_eq!(score.matches.total(), 23);
    let methods: Vec<MatchMethod> = score.dimensions[0].criteria.iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        [MatchMethod::Exact, MatchMethod::CaseInsensitive, MatchMethod::Substring, MatchMethod::Exact, MatchMethod::Substring]
    );
    let fallback = &score.dimensions[1].criteria[2];
    assert_eq!(fallback.method, MatchMethod::DimensionAverage);
    assert_eq!((fallback.target, fallback.reference), (7.0, 7.5));

    // The judge prompt for this task hides the weights and lists every criterion.
    let prompt = race::judge_prompt(row["prompt"].as_str().unwrap(), &rubric, "target", "reference");
    for d in &rubric.dimensions {
        for c in &d.criteria {
            assert!(prompt.contains(&c.criterion) && prompt.contains(&c.explanation));
        }
    }
    assert!(!prompt.to_lowercase().contains("weight"));
}

/// The bench stores only per-dimension shares for its reference model, never the
/// judge's per-criterion scores, so no stored score can be recomputed from its
/// judgement. What can be checked is that the shares follow the same share rule:
/// each stored value lies in [0, 1], and the summary is their mean.
#[test]
fn stored_claude_results_are_shares() {
    let Some(dir) = bench_dir() else { return };
    let path = dir.join("reference_model_outputs/claude-3-7-sonnet-latest.race_raw_results.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skip: no {}", path.display());
        return;
    };
    let keys = ["comprehensiveness", "insight", "instruction_following", "readability", "overall_score"];
    let mut sums = [0.0; 5];
    let mut n = 0.0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: Value = serde_json::from_str(line).unwrap();
        for (k, sum) in keys.iter().zip(sums.iter_mut()) {
            let v = match &row[*k] {
                Value::String(s) => s.parse::<f64>().unwrap(),
                v => v.as_f64().unwrap(),
            };
            assert!((0.0..=1.0).contains(&v), "{k} = {v}");
            *sum += v;
        }
        n += 1.0;
    }
    assert_eq!(n, 100.0);
    // race_result.txt: Comprehensiveness 0.4110, Insight 0.4051, Instruction Following 0.4621,
    // Readability 0.4172, Overall Score 0.4218 (rounded to 4 places).
    for (mean, stored) in sums.iter().map(|s| s / n).zip([0.4110, 0.4051, 0.4621, 0.4172, 0.4218]) {
        assert!((mean - stored).abs() < 5e-5 + 1e-12, "{mean} vs {stored}");
    }
}
