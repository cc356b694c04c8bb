//! `productresearch distill`: trajectories on disk → SFT files, in process (no
//! mesh needed), with every filter, the training formats, per-bucket files,
//! dataset statistics and, on request, the model's own reflections.
//!
//! Writes into `--out`:
//! - `sft.<format>.jsonl`: every kept example (all fit the chosen bucket);
//! - `sft.<format>.<bucket>.jsonl`: the examples fitting each bucket up to the
//!   chosen one (cumulative: the 64k set contains the 32k one);
//! - `drops.jsonl`: each dropped trajectory with its filter, reason and the
//!   filters it passed;
//! - `stats.json`: the quality report: yield, every filter's count, grounding
//!   rate, turns, tool calls, tokens (mean/median/p95), buckets, drops,
//!   diversity, and the RACE curve when `productresearch eval` judged the run.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use distiller::{Bucket, DatasetStats, DistillOptions, Format, ModelReflector, ReflectionTable, TokenCounter};
use productresearch_record::{ToolSpec, Trajectory};

use crate::model_endpoint::ModelChoice;

/// Options of `productresearch distill`.
#[derive(clap::Args, Debug)]
pub struct DistillArgs {
    /// Trajectories, JSONL (a run's `trajectories.jsonl`).
    pub trajectories: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "out/distilled")]
    pub out: PathBuf,
    /// Training format; repeat for several.
    #[arg(long = "format", default_value = "openai")]
    pub formats: Vec<Format>,
    /// Longest example kept: 32k, 64k or 128k tokens.
    #[arg(long, default_value = "128k")]
    pub bucket: Bucket,
    /// o200k_base (default), cl100k_base, or a Hugging Face tokenizer.json.
    #[arg(long, default_value = "o200k_base")]
    pub tokenizer: String,
    /// Print, for each dropped trajectory, the filter that dropped it and why,
    /// and the quality page (yield, every filter's count, grounding, diversity).
    #[arg(long)]
    pub explain: bool,
    /// Print the quality report as JSON on stdout (what `stats.json` holds, with
    /// the RACE curve of `productresearch eval` when the run has one).
    #[arg(long)]
    pub json: bool,
    /// Fewest approved tool calls with results (0: off).
    #[arg(long, default_value_t = 2)]
    pub min_tool_calls: u32,
    /// Fewest assistant turns (0: off).
    #[arg(long, default_value_t = 3)]
    pub min_assistant_turns: u32,
    /// Most proposals of one identical call (0: off).
    #[arg(long, default_value_t = 2)]
    pub max_identical_calls: u32,
    /// Query similarity (token Jaccard) counted as a near duplicate (0: off).
    #[arg(long, default_value_t = 0.8)]
    pub near_duplicate: f64,
    /// Keep trajectories whose report was never approved (their last report ends the example).
    #[arg(long)]
    pub allow_unapproved: bool,
    /// Keep trajectories with failure records.
    #[arg(long)]
    pub keep_failures: bool,
    /// Do not require the report's citations to have been opened by tools, nor
    /// its prices and ratings to match tool results.
    #[arg(long)]
    pub no_grounding: bool,
    /// Keep reports that look cut off (mid-sentence, mid-table, open markup).
    #[arg(long)]
    pub allow_incomplete_reports: bool,
    /// Shortest run of words of recorded feedback that counts as an echo (0: off).
    #[arg(long, default_value_t = 8)]
    pub feedback_echo_words: u32,
    /// Keep examples whose reasoning refers to a draft they do not contain.
    #[arg(long)]
    pub allow_invisible_drafts: bool,
    /// Tool definitions (JSON array of {name, description, parameters}); default: the gateway's four tools.
    #[arg(long)]
    pub tools: Option<PathBuf>,
    /// Id of the tool snapshot the trajectories were made with (lineage).
    #[arg(long)]
    pub tool_snapshot: Option<String>,
    /// Ask the research agent's model (config role `research-agent`) to write each reflection.
    #[arg(long)]
    pub reflect_with_model: bool,
    #[command(flatten)]
    pub model: ModelChoice,
}

/// Runs the command.
pub async fn run(args: DistillArgs) -> anyhow::Result<()> {
    let (trajectories, bad) = read_trajectories(&args.trajectories)?;
    for (line, e) in &bad {
        eprintln!("skipped {}:{line}: {e}", args.trajectories.display());
    }
    let tools = match &args.tools {
        Some(p) => read_tools(p)?,
        None => gateway_tools()?,
    };
    let mut opts = DistillOptions {
        filters: distiller::FilterConfig {
            require_approval: !args.allow_unapproved,
            min_tool_calls: args.min_tool_calls,
            min_assistant_turns: args.min_assistant_turns,
            drop_failures: !args.keep_failures,
            max_identical_calls: args.max_identical_calls,
            require_grounding: !args.no_grounding,
            require_complete_report: !args.allow_incomplete_reports,
            feedback_echo_words: args.feedback_echo_words,
            drop_invisible_drafts: !args.allow_invisible_drafts,
            near_duplicate_jaccard: args.near_duplicate,
        },
        bucket: args.bucket,
        tokenizer: TokenCounter::from_spec(&args.tokenizer)?,
        system_prompt: distiller::DEFAULT_SYSTEM_PROMPT.to_string(),
        tool_snapshot: args.tool_snapshot.clone(),
    };
    if !(0.0..=1.0).contains(&opts.filters.near_duplicate_jaccard) {
        anyhow::bail!("--near-duplicate must be between 0 (off) and 1");
    }
    opts.system_prompt = opts.system_prompt.trim().to_string();

    let reflections = if args.reflect_with_model {
        let model = args.model.connect("research-agent", distiller::model_reflection::MAX_IN_FLIGHT).await?;
        let reflector = ModelReflector::new(model.client()?, productresearch_prompts::PromptSet::builtin());
        let table = reflector.reflect_all(&trajectories, &opts.filters).await;
        let (by_model, fallbacks) = table.values().fold((0, 0), |(m, f), r| (m + r.by_seq.len(), f + r.fallbacks.len()));
        eprintln!("reflections: {by_model} written by {}, {fallbacks} fell back to the rules", model.endpoint.model);
        model.stop().await;
        table
    } else {
        ReflectionTable::new()
    };

    let distilled = distiller::distill(&trajectories, &tools, &opts, &reflections)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    for format in &args.formats {
        let rendered = distilled
            .examples
            .iter()
            .map(|e| {
                distiller::format::render(&e.value, *format).map(|v| (e.bucket, v.to_string())).map_err(|v| (e.trajectory_id.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|(id, v)| anyhow!("trajectory {id}: {} example breaks rule {}: {}", format.name(), v.rule, v.detail))?;
        write_lines(&args.out.join(format!("sft.{}.jsonl", format.name())), rendered.iter().map(|(_, l)| l.as_str()))?;
        for bucket in Bucket::ALL.into_iter().filter(|b| *b <= args.bucket) {
            let lines = rendered.iter().filter(|(b, _)| *b <= bucket).map(|(_, l)| l.as_str());
            write_lines(&args.out.join(format!("sft.{}.{}.jsonl", format.name(), bucket.name())), lines)?;
        }
    }
    let drops = distilled.drops.iter().map(|d| {
        let passed: Vec<String> = d.passed.iter().map(|p| format!("{}: {}", p.filter, p.detail)).collect();
        serde_json::json!({"trajectory_id": d.trajectory_id, "filter": d.filter, "reason": d.reason, "passed": passed}).to_string()
    });
    write_lines(&args.out.join("drops.jsonl"), drops.collect::<Vec<_>>().iter().map(String::as_str))?;
    let stats = DatasetStats::of(&distilled, &opts.tokenizer.name());
    let mut report = serde_json::to_value(&stats)?;
    // RACE per round, where `productresearch eval` judged this run.
    let race = args.trajectories.parent().map(|run| run.join("eval").join("race_rounds.json"));
    if let Some(curve) = race.filter(|p| p.is_file()).and_then(|p| std::fs::read_to_string(p).ok()) {
        // The per-round means, not every judged report.
        let curve: serde_json::Value = serde_json::from_str(&curve).unwrap_or_default();
        report["race_rounds"] = serde_json::json!({"judge_model": curve["judge_model"], "rounds": curve["rounds"]});
    }
    std::fs::write(args.out.join("stats.json"), serde_json::to_string_pretty(&report)? + "\n")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }

    if args.explain {
        for d in &distilled.drops {
            let passed: Vec<&str> = d.passed.iter().map(|p| p.filter.name()).collect();
            println!(
                "dropped {} by {}: {} (passed: {})",
                d.trajectory_id,
                d.filter,
                d.reason,
                if passed.is_empty() { "none".into() } else { passed.join(", ") }
            );
        }
    }
    if args.explain {
        print!("{}", stats.quality_page());
        if let Some(rounds) = report.get("race_rounds").and_then(|r| r.get("rounds")).and_then(serde_json::Value::as_array) {
            let curve: Vec<String> =
                rounds.iter().filter_map(|r| Some(format!("round {}: {:.3}", r.get("round")?, r.get("overall")?.as_f64()?))).collect();
            println!("  RACE per round   {}", curve.join(", "));
        }
    } else {
        print!("{}", stats.table());
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

/// Lines of a file that could not be read: (line number, why).
pub type BadLines = Vec<(usize, String)>;

/// Trajectories of a JSONL file; bad lines come back with their line number.
pub fn read_trajectories(path: &Path) -> anyhow::Result<(Vec<Trajectory>, BadLines)> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read trajectories {}", path.display()))?;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Trajectory>(&line) {
            Ok(t) => good.push(t),
            Err(e) => bad.push((i + 1, e.to_string())),
        }
    }
    Ok((good, bad))
}

fn read_tools(path: &Path) -> anyhow::Result<Vec<ToolSpec>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read tools {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a JSON array of tools {{name, description, parameters}}", path.display()))
}

/// The tool gateway's four tool definitions (no catalog needed for the schemas).
fn gateway_tools() -> anyhow::Result<Vec<ToolSpec>> {
    let (catalog, _) = tool_gateway::catalog::Catalog::load(&[])?;
    let gateway = tool_gateway::Gateway::new(catalog, None, &tool_gateway::Config::default())?;
    Ok(gateway
        .definitions()
        .into_iter()
        .map(|d| ToolSpec { name: d.name.to_string(), description: d.description, parameters: d.parameters.into() })
        .collect())
}

fn write_lines<'a>(path: &Path, lines: impl Iterator<Item = &'a str>) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?);
    for l in lines {
        w.write_all(l.as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))?;
    Ok(())
}
