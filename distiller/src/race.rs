//! RACE scoring of DeepResearch Bench (Reference-based Adaptive Criteria-driven
//! Evaluation), without any model call.
//!
//! A judge model reads a query-specific [`Rubric`] (criteria and explanations,
//! never weights), a target report and a reference report, and scores both on
//! every criterion from 0 to 10 ([`judge_prompt`]). [`JudgeScores::parse`] reads
//! its answer, [`score`] matches each rubric criterion to a judged one and
//! weights the scores:
//!
//! - `S_d = Σ w·s / Σ w` per dimension, for the target and for the reference;
//! - `S = Σ W_d·S_d` over the dimensions;
//! - `overall = S_target / (S_target + S_reference)`, and the same share per
//!   dimension; 0.5 means "as good as the reference".
//!
//! The judge's JSON follows the bench: an object keyed by dimension
//! (`comprehensiveness`, `insight`, `instruction_following`, `readability`;
//! `depth` is accepted for `insight`) whose values are lists of
//! `{criterion, analysis, article_1_score, article_2_score}`, where article 1 is
//! the target and article 2 the reference. `target_score` / `reference_score`
//! are accepted as well.

use productresearch_prompts::{PromptError, PromptSet, Rendered};
use productresearch_record::{Criterion, Dimension, Rubric, RubricDimension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Lowest score a judge may give.
pub const MIN_SCORE: f64 = 0.0;
/// Highest score a judge may give.
pub const MAX_SCORE: f64 = 10.0;

/// Why a judgement cannot be read or scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RaceError {
    /// The judge's text holds no JSON object.
    #[error("judge output holds no json object")]
    NoJson,
    /// The JSON is malformed or not an object keyed by dimension.
    #[error("judge output is not valid race json: {0}")]
    Json(String),
    /// No dimension key of the rubric appears in the judge's output.
    #[error("judge output has none of the race dimensions")]
    NoDimensions,
    /// A dimension has no judged criterion that matches the rubric, so not even
    /// the dimension-average fallback has anything to average.
    #[error("judge output has no usable score for dimension {0}")]
    NoScores(&'static str),
    /// A weight is negative, not finite, or a group of weights sums to zero.
    #[error("rubric {0} has an invalid weight")]
    Weight(String),
}

/// The judge's scores for one criterion, both reports, 0–10.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionScore {
    /// The criterion text as the judge wrote it.
    pub criterion: String,
    /// Score of the target report (the bench's `article_1_score`).
    pub target_score: f64,
    /// Score of the reference report (the bench's `article_2_score`).
    pub reference_score: f64,
}

/// What a judge returned for one report pair.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JudgeScores {
    /// Judged criteria per dimension, in the judge's order; a dimension the judge
    /// left out has no entry.
    pub dimensions: Vec<(Dimension, Vec<CriterionScore>)>,
    /// Items dropped while parsing: not an object, no criterion text, or a
    /// missing or non-numeric score.
    pub skipped: usize,
}

/// The key a dimension has in a bench file or judge output; the bench calls
/// [`Dimension::Depth`] "insight".
pub fn bench_key(d: Dimension) -> &'static str {
    match d {
        Dimension::Depth => "insight",
        other => other.name(),
    }
}

fn dimension_from_key(key: &str) -> Option<Dimension> {
    let key = key.trim().to_ascii_lowercase();
    Dimension::ALL.into_iter().find(|d| key == d.name() || key == bench_key(*d))
}

impl JudgeScores {
    /// Reads a judge's raw answer: the JSON object may be wrapped in a markdown
    /// fence or surrounded by prose (judges often add both).
    pub fn parse(text: &str) -> Result<Self, RaceError> {
        let start = text.find('{').ok_or(RaceError::NoJson)?;
        let end = text.rfind('}').ok_or(RaceError::NoJson)?;
        if end < start {
            return Err(RaceError::NoJson);
        }
        let value: Value = serde_json::from_str(&text[start..=end]).map_err(|e| RaceError::Json(e.to_string()))?;
        Self::from_json(&value)
    }

    /// Reads an already parsed judge answer. Keys that are not dimensions are
    /// ignored; items that cannot be scored are counted in
    /// [`JudgeScores::skipped`], as the bench skips them too.
    pub fn from_json(value: &Value) -> Result<Self, RaceError> {
        let object = value.as_object().ok_or_else(|| RaceError::Json("top level is not an object".into()))?;
        let mut out = JudgeScores::default();
        for (key, items) in object {
            let Some(dimension) = dimension_from_key(key) else { continue };
            let items = items.as_array().ok_or_else(|| RaceError::Json(format!("{key} is not a list")))?;
            let mut scores = Vec::with_capacity(items.len());
            for item in items {
                match criterion_score(item) {
                    Some(s) => scores.push(s),
                    None => out.skipped += 1,
                }
            }
            match out.dimensions.iter_mut().find(|(d, _)| *d == dimension) {
                // "insight" and "depth" both present: keep both lists.
                Some((_, existing)) => existing.extend(scores),
                None => out.dimensions.push((dimension, scores)),
            }
        }
        if out.dimensions.is_empty() {
            return Err(RaceError::NoDimensions);
        }
        Ok(out)
    }

    /// The judged criteria of one dimension (empty if the judge left it out).
    pub fn dimension(&self, d: Dimension) -> &[CriterionScore] {
        self.dimensions.iter().find(|(x, _)| *x == d).map(|(_, s)| s.as_slice()).unwrap_or(&[])
    }
}

fn criterion_score(item: &Value) -> Option<CriterionScore> {
    let criterion = item.get("criterion")?.as_str()?.trim();
    if criterion.is_empty() {
        return None;
    }
    let pick = |keys: &[&str]| keys.iter().find_map(|k| item.get(*k).filter(|v| !v.is_null())).and_then(number);
    Some(CriterionScore {
        criterion: criterion.to_string(),
        target_score: pick(&["article_1_score", "target_score"])?,
        reference_score: pick(&["article_2_score", "reference_score"])?,
    })
}

/// A score as a number or a numeric string, clamped to 0–10: a judge that
/// writes 11 means "best", and clamping keeps one outlier from outweighing the
/// rest of the dimension.
fn number(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    x.is_finite().then(|| x.clamp(MIN_SCORE, MAX_SCORE))
}

/// How a rubric criterion found its judged score, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// The judge copied the text exactly (after trimming).
    Exact,
    /// Same text ignoring case.
    CaseInsensitive,
    /// One text contains the other, ignoring case (the judge abbreviated or
    /// extended it).
    Substring,
    /// Not found: the criterion gets the average of the matched scores in its
    /// dimension.
    DimensionAverage,
}

/// How many criteria matched by each method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MatchCounts {
    /// [`MatchMethod::Exact`].
    pub exact: usize,
    /// [`MatchMethod::CaseInsensitive`].
    pub case_insensitive: usize,
    /// [`MatchMethod::Substring`].
    pub substring: usize,
    /// [`MatchMethod::DimensionAverage`].
    pub dimension_average: usize,
}

impl MatchCounts {
    fn add(&mut self, m: MatchMethod) {
        match m {
            MatchMethod::Exact => self.exact += 1,
            MatchMethod::CaseInsensitive => self.case_insensitive += 1,
            MatchMethod::Substring => self.substring += 1,
            MatchMethod::DimensionAverage => self.dimension_average += 1,
        }
    }

    /// All criteria counted.
    pub fn total(&self) -> usize {
        self.exact + self.case_insensitive + self.substring + self.dimension_average
    }

    /// Criteria the judge did not score, filled from the dimension average.
    pub fn fallbacks(&self) -> usize {
        self.dimension_average
    }
}

/// One rubric criterion with the scores it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionMatch {
    /// The rubric's criterion text.
    pub criterion: String,
    /// Its weight within the dimension.
    pub weight: f64,
    /// How its score was found.
    pub method: MatchMethod,
    /// Target score, 0–10.
    pub target: f64,
    /// Reference score, 0–10.
    pub reference: f64,
}

/// The scores of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionScore {
    /// Which dimension.
    pub dimension: Dimension,
    /// Its weight `W_d`.
    pub weight: f64,
    /// `S_d` of the target: weighted mean, 0–10.
    pub target: f64,
    /// `S_d` of the reference: weighted mean, 0–10.
    pub reference: f64,
    /// `target / (target + reference)`, see [`relative`].
    pub relative: f64,
    /// Every rubric criterion of the dimension, in rubric order.
    pub criteria: Vec<CriterionMatch>,
}

/// The RACE score of a target report against a reference report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaceScore {
    /// `S_target / (S_target + S_reference)`, see [`relative`].
    pub overall: f64,
    /// `S = Σ W_d·S_d` of the target, 0–10 when dimension weights sum to 1.
    pub target: f64,
    /// `S` of the reference.
    pub reference: f64,
    /// One entry per rubric dimension, in rubric order.
    pub dimensions: Vec<DimensionScore>,
    /// How the rubric's criteria were matched.
    pub matches: MatchCounts,
}

/// The target's share `target / (target + reference)`. When both are zero
/// (neither report earned anything, or all weights are zero) the two are equally
/// good, so this returns 0.5, the "as good as the reference" point, rather than
/// the bench's 0, which would read as "far worse than the reference".
pub fn relative(target: f64, reference: f64) -> f64 {
    let sum = target + reference;
    if sum > 0.0 { target / sum } else { 0.5 }
}

/// Finds the judged score of `criterion` among `judged`: exact text, then case
/// insensitive, then substring either way; the first judged item wins a tie.
pub fn match_criterion<'a>(criterion: &str, judged: &'a [CriterionScore]) -> Option<(MatchMethod, &'a CriterionScore)> {
    let text = criterion.trim();
    if let Some(s) = judged.iter().find(|s| s.criterion == text) {
        return Some((MatchMethod::Exact, s));
    }
    let lower = text.to_lowercase();
    if let Some(s) = judged.iter().find(|s| s.criterion.to_lowercase() == lower) {
        return Some((MatchMethod::CaseInsensitive, s));
    }
    if lower.is_empty() {
        return None;
    }
    judged
        .iter()
        .find(|s| {
            let other = s.criterion.to_lowercase();
            !other.is_empty() && (other.contains(&lower) || lower.contains(&other))
        })
        .map(|s| (MatchMethod::Substring, s))
}

/// Scores a judgement against the rubric it was made with. The rubric's own
/// weights are used as given (normalised or not: `S_d` divides by `Σ w`, and the
/// overall share does not depend on the scale of `W_d`).
pub fn score(rubric: &Rubric, judged: &JudgeScores) -> Result<RaceScore, RaceError> {
    let mut dimensions = Vec::with_capacity(rubric.dimensions.len());
    let mut matches = MatchCounts::default();
    let (mut total_t, mut total_r) = (0.0, 0.0);
    for dim in &rubric.dimensions {
        let name = dim.dimension.name();
        check_weight(dim.weight, &format!("dimension {name}"))?;
        let scores = judged.dimension(dim.dimension);
        let found: Vec<Option<(MatchMethod, &CriterionScore)>> =
            dim.criteria.iter().map(|c| match_criterion(&c.criterion, scores)).collect();
        let matched: Vec<&CriterionScore> = found.iter().flatten().map(|(_, s)| *s).collect();
        if matched.is_empty() {
            return Err(RaceError::NoScores(name));
        }
        // The fallback is the plain mean of the matched criteria's scores (the
        // judge never sees weights, so its scores are not weight-aware either).
        let n = matched.len() as f64;
        let avg_t = matched.iter().map(|s| s.target_score).sum::<f64>() / n;
        let avg_r = matched.iter().map(|s| s.reference_score).sum::<f64>() / n;

        let mut criteria = Vec::with_capacity(dim.criteria.len());
        let (mut wt, mut wr, mut w) = (0.0, 0.0, 0.0);
        for (c, f) in dim.criteria.iter().zip(&found) {
            check_weight(c.weight, &format!("criterion {:?} of {name}", c.criterion))?;
            let (method, t, r) = match f {
                Some((m, s)) => (*m, s.target_score, s.reference_score),
                None => (MatchMethod::DimensionAverage, avg_t, avg_r),
            };
            matches.add(method);
            wt += c.weight * t;
            wr += c.weight * r;
            w += c.weight;
            criteria.push(CriterionMatch { criterion: c.criterion.clone(), weight: c.weight, method, target: t, reference: r });
        }
        if w <= 0.0 {
            return Err(RaceError::Weight(format!("criteria of {name}")));
        }
        let (t, r) = (wt / w, wr / w);
        total_t += dim.weight * t;
        total_r += dim.weight * r;
        dimensions.push(DimensionScore {
            dimension: dim.dimension,
            weight: dim.weight,
            target: t,
            reference: r,
            relative: relative(t, r),
            criteria,
        });
    }
    Ok(RaceScore { overall: relative(total_t, total_r), target: total_t, reference: total_r, dimensions, matches })
}

fn check_weight(w: f64, what: &str) -> Result<(), RaceError> {
    if w.is_finite() && w >= 0.0 { Ok(()) } else { Err(RaceError::Weight(what.to_string())) }
}

/// Reads one row of the bench's `criteria.jsonl` (`dimension_weight` and
/// `criterions`, keyed by `comprehensiveness`, `insight`,
/// `instruction_following`, `readability`) into a normalised [`Rubric`].
/// Extra keys on a criterion (`comment`, `aspect`, `rationale_for_weight` occur
/// in the bench) are ignored.
pub fn rubric_from_bench(json: &Value) -> Result<Rubric, String> {
    let weights = json.get("dimension_weight").and_then(Value::as_object).ok_or("bench row has no dimension_weight object")?;
    let criteria = json.get("criterions").and_then(Value::as_object).ok_or("bench row has no criterions object")?;
    let lookup = |map: &serde_json::Map<String, Value>, d: Dimension| {
        map.iter().find(|(k, _)| dimension_from_key(k) == Some(d)).map(|(_, v)| v.clone())
    };
    let mut dimensions = Vec::with_capacity(4);
    for d in Dimension::ALL {
        let key = bench_key(d);
        let weight = lookup(weights, d)
            .as_ref()
            .and_then(number_unclamped)
            .ok_or_else(|| format!("bench row has no numeric dimension_weight.{key}"))?;
        let list = lookup(criteria, d).ok_or_else(|| format!("bench row has no criterions.{key}"))?;
        let list = list.as_array().ok_or_else(|| format!("criterions.{key} is not a list"))?;
        let criteria = list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
                Ok(Criterion {
                    criterion: text("criterion").ok_or_else(|| format!("criterions.{key}[{i}] has no criterion text"))?,
                    explanation: text("explanation").unwrap_or_default(),
                    weight: c
                        .get("weight")
                        .and_then(number_unclamped)
                        .ok_or_else(|| format!("criterions.{key}[{i}] has no numeric weight"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        dimensions.push(RubricDimension { dimension: d, weight, criteria });
    }
    Rubric { dimensions }.normalized().map_err(|e| e.to_string())
}

fn number_unclamped(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The judge's prompt for `target` against `reference` on `rubric`, from the
/// built-in `distiller/race_judge` template: criteria and explanations per
/// dimension, never a weight, and the JSON shape [`JudgeScores::parse`] reads.
pub fn judge_prompt(query: &str, rubric: &Rubric, target: &str, reference: &str) -> String {
    static BUILTIN: std::sync::OnceLock<PromptSet> = std::sync::OnceLock::new();
    render_judge_prompt(BUILTIN.get_or_init(PromptSet::builtin), query, rubric, target, reference)
        .expect("the built-in race_judge template renders (checked by tests)")
        .text
}

/// Name of the judge's prompt template.
pub const JUDGE_TEMPLATE: &str = "distiller/race_judge";

/// [`judge_prompt`] from `prompts` (an override of the template included), with
/// the template's name and hash for lineage.
pub fn render_judge_prompt(
    prompts: &PromptSet,
    query: &str,
    rubric: &Rubric,
    target: &str,
    reference: &str,
) -> Result<Rendered, PromptError> {
    let dimensions: Vec<Value> = rubric
        .dimensions
        .iter()
        .map(|d| {
            let criteria: Vec<Value> = d
                .criteria
                .iter()
                .map(|c| serde_json::json!({"criterion": c.criterion.trim(), "explanation": c.explanation.trim()}))
                .collect();
            serde_json::json!({"name": d.dimension.name(), "criteria": criteria})
        })
        .collect();
    prompts.render(JUDGE_TEMPLATE, serde_json::json!({"query": query, "target": target, "reference": reference, "dimensions": dimensions}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rubric() -> Rubric {
        let dim = |d: Dimension, w: f64, cs: &[(&str, &str, f64)]| RubricDimension {
            dimension: d,
            weight: w,
            criteria: cs.iter().map(|(c, e, w)| Criterion { criterion: c.to_string(), explanation: e.to_string(), weight: *w }).collect(),
        };
        Rubric {
            dimensions: vec![
                dim(
                    Dimension::Comprehensiveness,
                    0.3173,
                    &[("Covers every brand", "Names all major makers", 0.6271), ("Prices listed", "Gives street prices", 0.3729)],
                ),
                dim(Dimension::Depth, 0.2419, &[("Explains trade-offs", "Says why one beats another", 1.0)]),
                dim(Dimension::InstructionFollowing, 0.2851, &[("Stays on budget", "Respects the stated budget", 1.0)]),
                dim(Dimension::Readability, 0.1557, &[("Clear tables", "Uses comparison tables", 1.0)]),
            ],
        }
    }

    #[test]
    fn prompt_lists_every_criterion_and_no_weight() {
        let r = rubric();
        let p = judge_prompt("best headphones", &r, "TARGET REPORT", "REFERENCE REPORT");
        for d in &r.dimensions {
            assert!(p.contains(&format!("## {}", d.dimension.name())));
            assert!(!p.contains(&format!("{}", d.weight)), "dimension weight {} leaked", d.weight);
            assert!(!p.contains(&format!("{:.2}", d.weight)));
            for c in &d.criteria {
                assert!(p.contains(&c.criterion), "missing {}", c.criterion);
                assert!(p.contains(&c.explanation), "missing {}", c.explanation);
                assert!(!p.contains(&format!("{}", c.weight)) || c.weight == 1.0, "criterion weight {} leaked", c.weight);
                assert!(!p.contains(&format!("{:.2}", c.weight)));
                assert!(!p.contains(&format!("{:.0}%", c.weight * 100.0)));
            }
        }
        assert!(!p.to_lowercase().contains("weight"));
        assert!(p.contains("TARGET REPORT") && p.contains("REFERENCE REPORT") && p.contains("best headphones"));
        let t = p.find("TARGET REPORT").unwrap();
        assert!(p[..t].contains("<article_1>"));
    }

    #[test]
    fn prompt_schema_is_what_the_parser_reads() {
        let r = rubric();
        let p = judge_prompt("q", &r, "a", "b");
        let start = p.rfind("Return only parseable JSON").unwrap();
        let judged = JudgeScores::parse(&p[start..]).unwrap();
        assert_eq!(judged.dimensions.len(), 4);
        assert_eq!(judged.skipped, 0);
        assert_eq!(judged.dimension(Dimension::Depth)[0].criterion, "<criterion text copied exactly>");
    }

    #[test]
    fn parse_accepts_both_key_sets_fences_and_strings() {
        let text = "Here you go:\n```json\n{\"insight\": [{\"criterion\": \" A \", \"article_1_score\": \"7.5\", \"article_2_score\": 6}],\n\
                    \"readability\": [{\"criterion\": \"B\", \"target_score\": 12, \"reference_score\": -1}, {\"criterion\": \"C\"}, 3],\n\
                    \"summary\": \"ignored\"}\n```";
        let j = JudgeScores::parse(text).unwrap();
        assert_eq!(j.dimension(Dimension::Depth), &[CriterionScore { criterion: "A".into(), target_score: 7.5, reference_score: 6.0 }]);
        assert_eq!(
            j.dimension(Dimension::Readability),
            &[CriterionScore { criterion: "B".into(), target_score: 10.0, reference_score: 0.0 }]
        );
        assert_eq!(j.skipped, 2);
        assert!(j.dimension(Dimension::Comprehensiveness).is_empty());
        assert_eq!(JudgeScores::parse("no json"), Err(RaceError::NoJson));
        assert_eq!(JudgeScores::parse("{\"other\": []}"), Err(RaceError::NoDimensions));
    }

    #[test]
    fn matching_order_and_fallback() {
        let s = |c: &str, t: f64| CriterionScore { criterion: c.into(), target_score: t, reference_score: t };
        let judged = vec![s("prices LISTED", 1.0), s("Prices listed", 2.0), s("every brand", 3.0)];
        assert_eq!(match_criterion("Prices listed", &judged).unwrap().0, MatchMethod::Exact);
        assert_eq!(match_criterion("Prices listed", &judged).unwrap().1.target_score, 2.0);
        assert_eq!(match_criterion("PRICES listed", &judged).unwrap().0, MatchMethod::CaseInsensitive);
        assert_eq!(match_criterion("Covers every brand", &judged).unwrap().0, MatchMethod::Substring);
        assert_eq!(match_criterion("brand", &judged).unwrap().0, MatchMethod::Substring);
        assert!(match_criterion("Tables", &judged).is_none());
    }

    #[test]
    fn equal_zero_scores_are_a_tie() {
        assert_eq!(relative(0.0, 0.0), 0.5);
        assert_eq!(relative(3.0, 1.0), 0.75);
        let r = rubric();
        let mut j = JudgeScores::default();
        for d in &r.dimensions {
            j.dimensions.push((
                d.dimension,
                vec![CriterionScore { criterion: d.criteria[0].criterion.clone(), target_score: 0.0, reference_score: 0.0 }],
            ));
        }
        let s = score(&r, &j).unwrap();
        assert_eq!(s.overall, 0.5);
        assert_eq!(s.matches.exact, 4);
        assert_eq!(s.matches.fallbacks(), 1);
        assert_eq!(s.matches.total(), 5);
    }

    #[test]
    fn dimension_without_scores_is_an_error() {
        let r = rubric();
        let j = JudgeScores::from_json(
            &serde_json::json!({"comprehensiveness": [{"criterion": "Prices listed", "article_1_score": 1, "article_2_score": 2}]}),
        )
        .unwrap();
        assert_eq!(score(&r, &j), Err(RaceError::NoScores("depth")));
    }
}
