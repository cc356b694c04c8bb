//! `productresearch users`: import behaviour histories from real sources
//! (validated, scrubbed, pseudonymised) and measure how well inferred intents
//! match what the users did next.
//!
//! The fidelity check (`users fidelity`) takes histories with a held-out next
//! item (Amazon Reviews 2023), infers each user's intent with the configured
//! model (the simulated model when none is given), and runs the generated
//! query through the tool gateway's `product_search` over a catalog of every
//! product in the sample. A history counts as a hit when the top result
//! (the user's own past items excluded) is in the held-out item's category, or
//! when the held-out item or a close match (title word overlap) is among the
//! top k. It is a diagnostic figure, not a test.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use productresearch_histories::{Format, HeldOut, Loaded, Pseudonymizer, ScrubCounts, Scrubber};
use productresearch_llm::{EndpointConfig, LlmClient};
use serde::Serialize;
use user_agent::{InferOptions, IntentInferrer};

/// `productresearch users ...`
#[derive(clap::Args, Debug)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub command: UsersCommand,
}

/// The subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// Validate, scrub and pseudonymise histories into our generic JSONL; report counts.
    Import {
        /// History files; the format of each is detected unless --format is given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Read every file in this format: jsonl, amazon2023, amazon-in.
        #[arg(long)]
        format: Option<String>,
        /// Output JSONL (one history per line; held-out items kept for `users fidelity`).
        #[arg(long)]
        out: PathBuf,
        /// File holding the pseudonym key (else the PRODUCTRESEARCH_PSEUDONYM_KEY variable).
        #[arg(long)]
        pseudonym_key_file: Option<PathBuf>,
        /// Rejected lines printed (all are counted).
        #[arg(long, default_value_t = 20)]
        show_rejected: usize,
    },
    /// Infer intents for histories with a held-out next item and report how often
    /// a catalog search for the query finds that item's category or a close match.
    Fidelity {
        /// History files with held-out items (Amazon Reviews 2023 rows, or JSONL from `users import`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Read every file in this format: jsonl, amazon2023.
        #[arg(long)]
        format: Option<String>,
        /// OpenAI-compatible endpoint of the intent model (default: the simulated model, started in-process).
        #[arg(long, requires = "model")]
        base_url: Option<String>,
        /// Model name at --base-url.
        #[arg(long)]
        model: Option<String>,
        /// Histories checked (first N); all when unset.
        #[arg(long)]
        limit: Option<usize>,
        /// Results of the search that count.
        #[arg(long, default_value_t = 10)]
        top_k: usize,
        /// Write the per-history results here (JSONL; no user ids).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs a `users` subcommand.
pub async fn run(args: UsersArgs) -> anyhow::Result<()> {
    match args.command {
        UsersCommand::Import { files, format, out, pseudonym_key_file, show_rejected } => {
            let format = format.as_deref().map(Format::parse).transpose().map_err(anyhow::Error::msg)?;
            let key = pseudonymizer(pseudonym_key_file.as_deref())?;
            let summary = import(&files, format, &out, &key)?;
            for r in summary.rejected.iter().take(show_rejected) {
                eprintln!("rejected {r}");
            }
            if summary.rejected.len() > show_rejected {
                eprintln!("... and {} more rejected lines", summary.rejected.len() - show_rejected);
            }
            for f in &summary.files {
                println!(
                    "{}: {} ({}): {} histories, {} rejected lines",
                    f.path.display(),
                    f.format.name(),
                    f.events,
                    f.histories,
                    f.rejected
                );
            }
            let c = summary.scrubbed;
            println!(
                "wrote {} histories ({} events, {} with a held-out item) to {}; {} lines rejected; scrubbed {} emails, {} phone numbers, {} addresses, {} order numbers, {} names",
                summary.histories,
                summary.events,
                summary.heldout,
                out.display(),
                summary.rejected.len(),
                c.emails,
                c.phones,
                c.addresses,
                c.orders,
                c.names
            );
            Ok(())
        }
        UsersCommand::Fidelity { files, format, base_url, model, limit, top_k, out } => {
            let format = format.as_deref().map(Format::parse).transpose().map_err(anyhow::Error::msg)?;
            let (sim, endpoint) = match (base_url, model) {
                (Some(url), Some(model)) => (None, EndpointConfig::new(url, model)),
                _ => {
                    let sim = productresearch_sim_llm::spawn_local(Default::default()).await.context("start the simulated model")?;
                    let url = sim.base_url();
                    (Some(sim), EndpointConfig::new(url, "sim-model"))
                }
            };
            let report = fidelity(&files, format, endpoint, limit, top_k, out.as_deref()).await;
            if let Some(sim) = sim {
                sim.shutdown().await;
            }
            let report = report?;
            println!("{report}");
            Ok(())
        }
    }
}

fn pseudonymizer(key_file: Option<&Path>) -> anyhow::Result<Pseudonymizer> {
    match key_file {
        Some(path) => {
            let key = std::fs::read(path).with_context(|| format!("pseudonym key file {}", path.display()))?;
            let trimmed = String::from_utf8_lossy(&key).trim().as_bytes().to_vec();
            Pseudonymizer::new(trimmed).map_err(|e| anyhow::anyhow!("pseudonym key file {}: {e}", path.display()))
        }
        None => Pseudonymizer::from_env().map_err(|e| anyhow::anyhow!("{e}, or pass --pseudonym-key-file")),
    }
}

/// Counts of one imported file.
#[derive(Debug, Clone)]
pub struct FileSummary {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Histories accepted.
    pub histories: usize,
    /// Events in them.
    pub events: usize,
    /// Lines rejected.
    pub rejected: usize,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// Per file.
    pub files: Vec<FileSummary>,
    /// Histories written.
    pub histories: usize,
    /// Events written.
    pub events: usize,
    /// Histories with a held-out item.
    pub heldout: usize,
    /// Every rejected line, as `file:line: reason`.
    pub rejected: Vec<productresearch_histories::Rejected>,
    /// Replacements made by the scrubber.
    pub scrubbed: ScrubCounts,
}

/// Imports `files` into `out` (generic JSONL). An unreadable input file stops
/// the import before anything is written; bad lines do not.
pub fn import(files: &[PathBuf], format: Option<Format>, out: &Path, key: &Pseudonymizer) -> anyhow::Result<ImportSummary> {
    let mut loaded = Vec::new();
    let mut summary = ImportSummary::default();
    for path in files {
        let (format, report) = productresearch_histories::load(path, format)?;
        summary.files.push(FileSummary {
            path: path.clone(),
            format,
            histories: report.histories.len(),
            events: report.histories.iter().map(|l| l.history.events.len()).sum(),
            rejected: report.rejected.len(),
        });
        summary.rejected.extend(report.rejected);
        loaded.extend(report.histories);
    }
    let scrubber = Scrubber::default();
    let write = || -> std::io::Result<()> {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
        for l in loaded {
            let (protected, counts) = l.protect(&scrubber, Some(key));
            summary.scrubbed += counts;
            summary.histories += 1;
            summary.events += protected.history.events.len();
            summary.heldout += usize::from(protected.heldout.is_some());
            serde_json::to_writer(&mut w, &protected.to_line())?;
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    write().with_context(|| format!("write {}", out.display()))?;
    Ok(summary)
}

/// One history's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct FidelityRow {
    /// Position among the checked histories.
    pub index: usize,
    /// Held-out item's category.
    pub category: String,
    /// The generated query (empty when inference failed).
    pub query: String,
    /// Why inference failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Top result (own items excluded) in the held-out category.
    pub category_at_1: bool,
    /// Share of the top k in the held-out category.
    pub category_share: f64,
    /// The held-out item itself in the top k.
    pub item_in_top_k: bool,
    /// The held-out item or a close match in the top k.
    pub close_match: bool,
}

/// The fidelity figures.
#[derive(Debug, Clone, Serialize)]
pub struct FidelityReport {
    /// Model that inferred the intents.
    pub model: String,
    /// Histories checked.
    pub histories: usize,
    /// Inference failures (counted as misses).
    pub failures: usize,
    /// Products in the search catalog.
    pub catalog: usize,
    /// Categories in the catalog (chance level of category@1 is about 1/this).
    pub categories: usize,
    /// Results that count.
    pub top_k: usize,
    /// Rate: top result in the held-out category.
    pub category_at_1: f64,
    /// Rate: held-out item in the top k.
    pub item_in_top_k: f64,
    /// Rate: held-out item or a close match in the top k.
    pub close_match: f64,
    /// Rate: category@1 or close match.
    pub hit: f64,
}

impl std::fmt::Display for FidelityReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "fidelity of {} intents ({} failed) by {} over {} products in {} categories, top {}:",
            self.histories, self.failures, self.model, self.catalog, self.categories, self.top_k
        )?;
        writeln!(f, "  category@1          {:.1}%", 100.0 * self.category_at_1)?;
        writeln!(f, "  held-out item@{:<4}  {:.1}%", self.top_k, 100.0 * self.item_in_top_k)?;
        writeln!(f, "  close match@{:<4}    {:.1}%", self.top_k, 100.0 * self.close_match)?;
        write!(f, "  hit (category@1 or close match)  {:.1}%", 100.0 * self.hit)
    }
}

/// Title-word Jaccard overlap at or above which two products are a close match.
const CLOSE_MATCH: f64 = 0.3;

/// Runs the fidelity check (see the module docs).
pub async fn fidelity(
    files: &[PathBuf],
    format: Option<Format>,
    endpoint: EndpointConfig,
    limit: Option<usize>,
    top_k: usize,
    out: Option<&Path>,
) -> anyhow::Result<FidelityReport> {
    let mut loaded: Vec<Loaded> = Vec::new();
    for path in files {
        let (_, report) = productresearch_histories::load(path, format)?;
        for r in &report.rejected {
            eprintln!("skipped {r}");
        }
        loaded.extend(report.histories);
    }
    // The catalog is every product of the sample, before the limit: the search
    // must be able to miss.
    let products = catalog_products(&loaded);
    let gateway = gateway(&products)?;
    let categories: BTreeSet<&str> = products.values().map(|p| p.category.as_str()).collect();
    let checked: Vec<Loaded> = loaded.into_iter().filter(|l| l.heldout.is_some()).take(limit.unwrap_or(usize::MAX)).collect();
    if checked.is_empty() {
        bail!("no history with a held-out item in {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    let model = endpoint.model.clone();
    let inferrer = IntentInferrer::new(LlmClient::new(endpoint)?).with_options(InferOptions::default());
    let scrubber = Scrubber::default();
    let mut rows = Vec::with_capacity(checked.len());
    for (index, l) in checked.into_iter().enumerate() {
        let (l, _) = l.protect(&scrubber, None);
        let heldout = l.heldout.clone().expect("filtered");
        let own: HashSet<&str> = l.history.events.iter().map(|e| e.product_id.as_str()).collect();
        let row = match inferrer.infer(&l.history).await {
            Ok(inferred) => score(&gateway, &products, &own, &heldout, index, inferred.intent.query, top_k).await?,
            Err(e) => FidelityRow {
                index,
                category: heldout.category.clone(),
                query: String::new(),
                error: Some(e.to_string()),
                category_at_1: false,
                category_share: 0.0,
                item_in_top_k: false,
                close_match: false,
            },
        };
        rows.push(row);
    }
    if let Some(out) = out {
        let mut text = String::new();
        for r in &rows {
            text.push_str(&serde_json::to_string(r)?);
            text.push('\n');
        }
        std::fs::write(out, text).with_context(|| format!("write {}", out.display()))?;
    }
    let n = rows.len() as f64;
    let rate = |f: &dyn Fn(&FidelityRow) -> bool| rows.iter().filter(|r| f(r)).count() as f64 / n;
    Ok(FidelityReport {
        model,
        histories: rows.len(),
        failures: rows.iter().filter(|r| r.error.is_some()).count(),
        catalog: products.len(),
        categories: categories.len(),
        top_k,
        category_at_1: rate(&|r| r.category_at_1),
        item_in_top_k: rate(&|r| r.item_in_top_k),
        close_match: rate(&|r| r.close_match),
        hit: rate(&|r| r.category_at_1 || r.close_match),
    })
}

/// A product of the fidelity catalog.
#[derive(Debug, Clone, Serialize)]
struct CatalogProduct {
    product_id: String,
    title: String,
    category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
}

fn catalog_products(loaded: &[Loaded]) -> HashMap<String, CatalogProduct> {
    let mut products = HashMap::new();
    let mut add = |id: &str, title: &str, category: &str, price: Option<f64>| {
        if !id.is_empty() && !title.trim().is_empty() {
            products.entry(id.to_string()).or_insert_with(|| CatalogProduct {
                product_id: id.to_string(),
                title: title.to_string(),
                category: category.to_string(),
                price,
            });
        }
    };
    for l in loaded {
        for e in &l.history.events {
            add(&e.product_id, &e.title, &e.category, e.price);
        }
        if let Some(h) = &l.heldout {
            add(&h.product_id, &h.title, &h.category, h.price);
        }
    }
    products
}

/// The tool gateway (library API) over the sample's products, no web corpus.
fn gateway(products: &HashMap<String, CatalogProduct>) -> anyhow::Result<tool_gateway::Gateway> {
    let mut lines = String::new();
    let mut sorted: Vec<&CatalogProduct> = products.values().collect();
    sorted.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    for p in sorted {
        lines.push_str(&serde_json::to_string(p)?);
        lines.push('\n');
    }
    let mut catalog = tool_gateway::catalog::Catalog::default();
    let report = catalog.add_jsonl(Path::new("fidelity-catalog"), std::io::Cursor::new(lines))?;
    if report.accepted == 0 {
        bail!("no product of the sample could be indexed");
    }
    Ok(tool_gateway::Gateway::new(catalog, None, &tool_gateway::Config::default())?)
}

async fn score(
    gateway: &tool_gateway::Gateway,
    products: &HashMap<String, CatalogProduct>,
    own: &HashSet<&str>,
    heldout: &HeldOut,
    index: usize,
    query: String,
    top_k: usize,
) -> anyhow::Result<FidelityRow> {
    let args = serde_json::json!({"query": query, "limit": top_k + own.len()}).to_string();
    let outcome = gateway.call("product_search", &args).await;
    let ids: Vec<String> = match outcome.error {
        Some(_) => Vec::new(),
        None => serde_json::from_str::<serde_json::Value>(&outcome.content)?["results"]
            .as_array()
            .map(|r| r.iter().filter_map(|x| x["product_id"].as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
    };
    let top: Vec<&CatalogProduct> =
        ids.iter().filter(|id| !own.contains(id.as_str())).filter_map(|id| products.get(id)).take(top_k).collect();
    let in_category = |p: &&CatalogProduct| p.category == heldout.category;
    let held_words = words(&heldout.title);
    Ok(FidelityRow {
        index,
        category: heldout.category.clone(),
        category_at_1: top.first().is_some_and(in_category),
        category_share: if top.is_empty() { 0.0 } else { top.iter().filter(|p| in_category(p)).count() as f64 / top.len() as f64 },
        item_in_top_k: top.iter().any(|p| p.product_id == heldout.product_id),
        close_match: top.iter().any(|p| p.product_id == heldout.product_id || jaccard(&words(&p.title), &held_words) >= CLOSE_MATCH),
        query,
        error: None,
    })
}

fn words(title: &str) -> HashSet<String> {
    title.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(str::to_lowercase).collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 { 0.0 } else { a.intersection(b).count() as f64 / union as f64 }
}
