//! `productresearch eval <run dir>`: the per-round RACE curve of a run. Every
//! round's intermediate report of every approved trajectory is judged against
//! that trajectory's final approved report (the paper's "supervisor rounds lift
//! intermediate reports" measurement), on the trajectory's own rubric, by the
//! judge model (config role, default `supervisor`). Prints a table and writes
//! `<run>/eval/race_rounds.json` and `<run>/eval/race_rounds.svg`.
//!
//! E.Prod is counted for each report too: distinct catalog products the report
//! recommends (cites as `[product_id]`) that exist in the catalog.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use distiller::ModelJudge;
use futures::StreamExt;
use productresearch_record::{Dimension, StepKind, Trajectory};
use serde::Serialize;

use crate::model_endpoint::ModelChoice;

/// Options of `productresearch eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// A run's output folder (with trajectories.jsonl).
    pub run_dir: PathBuf,
    /// Catalog for E.Prod (JSONL); repeat for several. Default: demo/catalog.jsonl when present.
    #[arg(long = "catalog")]
    pub catalogs: Vec<PathBuf>,
    /// Config role whose model judges.
    #[arg(long, default_value = "supervisor")]
    pub judge_role: String,
    /// Malformed judgements asked for again before a report counts as unjudged.
    #[arg(long, default_value_t = 2)]
    pub judge_retries: u32,
    /// Judge calls in flight.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    #[command(flatten)]
    pub model: ModelChoice,
}

/// One judged report.
#[derive(Debug, Clone, Serialize)]
pub struct RoundScore {
    /// Trajectory.
    pub trajectory_id: String,
    /// Round of the report (1-based).
    pub round: u32,
    /// RACE overall share against the final report.
    pub overall: f64,
    /// Share per dimension.
    pub dimensions: BTreeMap<&'static str, f64>,
    /// Distinct catalog products the report recommends.
    pub e_prod: Option<usize>,
}

/// The mean of one round over trajectories.
#[derive(Debug, Clone, Serialize)]
pub struct RoundMean {
    /// Round.
    pub round: u32,
    /// Reports judged.
    pub reports: usize,
    /// Mean overall.
    pub overall: f64,
    /// Mean per dimension.
    pub dimensions: BTreeMap<&'static str, f64>,
    /// Mean E.Prod.
    pub e_prod: Option<f64>,
}

/// Runs the command.
pub async fn run(args: EvalArgs) -> anyhow::Result<()> {
    let path = args.run_dir.join(crate::pipeline::TRAJECTORIES_FILE);
    let (trajectories, bad) = crate::distill::read_trajectories(&path)?;
    for (line, e) in &bad {
        eprintln!("skipped {}:{line}: {e}", path.display());
    }
    let catalog_ids = catalog_ids(&args.catalogs)?;
    let jobs: Vec<RoundJob> = trajectories.iter().flat_map(round_reports).collect();
    if jobs.is_empty() {
        anyhow::bail!("no approved trajectory with a report in {}", path.display());
    }
    let model = args.model.connect(&args.judge_role, args.concurrency).await?;
    let judge = ModelJudge::new(model.client()?, productresearch_prompts::PromptSet::builtin(), args.judge_retries);
    eprintln!("judging {} reports with {} at {}", jobs.len(), model.endpoint.model, model.endpoint.base_url);
    let results: Vec<_> = futures::stream::iter(jobs)
        .map(|job| {
            let judge = judge.clone();
            let catalog_ids = &catalog_ids;
            async move {
                let j = judge.judge(&job.query, &job.rubric, &job.report, &job.reference).await;
                let e_prod = catalog_ids.as_ref().map(|ids| e_prod(&job.report, ids));
                (job.trajectory_id, job.round, j, e_prod)
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    model.stop().await;

    let mut scores = Vec::new();
    for (id, round, j, e_prod) in results {
        match j {
            Ok(j) => scores.push(RoundScore {
                trajectory_id: id,
                round,
                overall: j.score.overall,
                dimensions: j.score.dimensions.iter().map(|d| (d.dimension.name(), d.relative)).collect(),
                e_prod,
            }),
            Err(e) => eprintln!("unjudged: {id} round {round}: {e}"),
        }
    }
    scores.sort_by(|a, b| a.trajectory_id.cmp(&b.trajectory_id).then(a.round.cmp(&b.round)));
    let curve = means(&scores);
    print!("{}", table(&curve));
    let dir = args.run_dir.join("eval");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::json!({"judge_model": judge_model_name(&args), "rounds": curve, "reports": scores});
    std::fs::write(dir.join("race_rounds.json"), serde_json::to_string_pretty(&json)? + "\n")?;
    std::fs::write(dir.join("race_rounds.svg"), svg(&curve))?;
    println!("wrote {} and {}", dir.join("race_rounds.json").display(), dir.join("race_rounds.svg").display());
    Ok(())
}

fn judge_model_name(args: &EvalArgs) -> String {
    if args.model.simulated_llm { "simulated".into() } else { args.judge_role.clone() }
}

/// One report to judge against its trajectory's final report.
struct RoundJob {
    trajectory_id: String,
    round: u32,
    query: String,
    report: String,
    rubric: productresearch_record::Rubric,
    reference: String,
}

/// Every round's report of an approved trajectory.
fn round_reports(t: &Trajectory) -> Vec<RoundJob> {
    let (Some(intent), Some(reference)) = (t.intent(), t.final_report()) else { return Vec::new() };
    // The last report of each round is that round's intermediate report.
    let mut by_round: BTreeMap<u32, String> = BTreeMap::new();
    for (event, step, _) in t.steps() {
        if step.kind == StepKind::Report {
            by_round.insert(event.round.max(1), step.text.clone());
        }
    }
    by_round
        .into_iter()
        .map(|(round, report)| RoundJob {
            trajectory_id: t.trajectory_id.clone(),
            round,
            query: intent.query.clone(),
            report,
            rubric: intent.rubric.clone(),
            reference: reference.to_string(),
        })
        .collect()
}

/// Product ids of the catalogs (None when no catalog is given or found).
fn catalog_ids(paths: &[PathBuf]) -> anyhow::Result<Option<BTreeSet<String>>> {
    let paths: Vec<PathBuf> = if paths.is_empty() {
        let demo = productresearch_runtime::checkout::demo_path("catalog.jsonl");
        if demo.is_file() { vec![demo] } else { return Ok(None) }
    } else {
        paths.to_vec()
    };
    let (catalog, _) = tool_gateway::catalog::Catalog::load(&paths).map_err(|e| anyhow!("catalog: {e}"))?;
    Ok(Some(catalog.products().iter().map(|p| p.product_id.clone()).collect()))
}

/// Distinct catalog products `report` recommends (cites by id).
pub fn e_prod(report: &str, catalog_ids: &BTreeSet<String>) -> usize {
    let mut found = BTreeSet::new();
    let mut rest = report;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        for id in rest[..close].split([',', ';']).map(str::trim) {
            if catalog_ids.contains(id) {
                found.insert(id.to_string());
            }
        }
    }
    found.len()
}

/// Mean scores per round.
pub fn means(scores: &[RoundScore]) -> Vec<RoundMean> {
    let mut by_round: BTreeMap<u32, Vec<&RoundScore>> = BTreeMap::new();
    for s in scores {
        by_round.entry(s.round).or_default().push(s);
    }
    by_round
        .into_iter()
        .map(|(round, s)| {
            let n = s.len() as f64;
            let dims =
                Dimension::ALL.iter().map(|d| (d.name(), s.iter().filter_map(|x| x.dimensions.get(d.name())).sum::<f64>() / n)).collect();
            let e: Vec<usize> = s.iter().filter_map(|x| x.e_prod).collect();
            RoundMean {
                round,
                reports: s.len(),
                overall: s.iter().map(|x| x.overall).sum::<f64>() / n,
                dimensions: dims,
                e_prod: (!e.is_empty()).then(|| e.iter().sum::<usize>() as f64 / e.len() as f64),
            }
        })
        .collect()
}

/// The curve as a text table.
pub fn table(curve: &[RoundMean]) -> String {
    let mut out = format!(
        "{:>5} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}\n",
        "round", "reports", "overall", "comp", "depth", "instr", "read", "E.Prod"
    );
    for r in curve {
        let d = |k: &str| r.dimensions.get(k).copied().unwrap_or(f64::NAN);
        let e = r.e_prod.map(|e| format!("{e:.2}")).unwrap_or_else(|| "n/a".into());
        out.push_str(&format!(
            "{:>5} {:>7} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>7}\n",
            r.round,
            r.reports,
            r.overall,
            d("comprehensiveness"),
            d("depth"),
            d("instruction_following"),
            d("readability"),
            e
        ));
    }
    out
}

/// The curve as an SVG line plot: mean overall share per round, 0–1, with the
/// 0.5 "as good as the final report" line.
pub fn svg(curve: &[RoundMean]) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 360.0, 60.0, 20.0, 30.0, 50.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let n = curve.len().max(2) as f64;
    let x = |i: usize| left + plot_w * i as f64 / (n - 1.0);
    let y = |v: f64| top + plot_h * (1.0 - v.clamp(0.0, 1.0));
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">RACE of each round's report vs the final report</text>\n",
        w / 2.0
    );
    for g in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let dash = if g == 0.5 { " stroke-dasharray=\"4 3\"" } else { "" };
        s.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ccc\"{dash}/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{g:.2}</text>\n",
            w - right,
            left - 6.0,
            y(g) + 4.0,
            y = y(g)
        ));
    }
    let points: Vec<String> = curve.iter().enumerate().map(|(i, r)| format!("{:.1},{:.1}", x(i), y(r.overall))).collect();
    s.push_str(&format!("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>\n", points.join(" ")));
    for (i, r) in curve.iter().enumerate() {
        s.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#1f77b4\"><title>round {}: {:.3} ({} reports)</title></circle>\n\
             <text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            x(i),
            y(r.overall),
            r.round,
            r.overall,
            r.reports,
            x(i),
            h - bottom + 18.0,
            r.round
        ));
    }
    s.push_str(&format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">round</text>\n", left + plot_w / 2.0, h - 10.0));
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(id: &str, round: u32, overall: f64, e: usize) -> RoundScore {
        let dimensions = Dimension::ALL.iter().map(|d| (d.name(), overall)).collect();
        RoundScore { trajectory_id: id.into(), round, overall, dimensions, e_prod: Some(e) }
    }

    #[test]
    fn means_per_round_and_the_plot_has_one_point_per_round() {
        let curve = means(&[score("a", 1, 0.4, 1), score("b", 1, 0.46, 3), score("a", 2, 0.5, 2)]);
        assert_eq!(curve.len(), 2);
        assert!((curve[0].overall - 0.43).abs() < 1e-12);
        assert_eq!((curve[0].reports, curve[0].e_prod), (2, Some(2.0)));
        let t = table(&curve);
        assert!(t.lines().nth(1).unwrap().contains("0.430"), "{t}");
        let svg = svg(&curve);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn e_prod_counts_distinct_catalog_ids_only() {
        let ids: BTreeSet<String> = ["hp-001", "hp-002"].into_iter().map(String::from).collect();
        assert_eq!(e_prod("Buy [hp-001], or [hp-002; hp-001]; not [hp-999] or [web_visit].", &ids), 2);
        assert_eq!(e_prod("no citations", &ids), 0);
    }
}
