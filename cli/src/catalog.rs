//! `productresearch catalog index <files…> --out <dir>`: converts catalog files
//! (generic JSONL, amazon.in, Flipkart CSV, Lazada; see docs/catalogs.md) into
//! one on-disk catalog index the tool gateway serves with `--catalog <dir>`.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use tool_gateway::catalog::index_folder;
use tool_gateway::catalog::{CatalogFormat, FieldMapping};

/// Catalog commands.
#[derive(clap::Args, Debug)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub command: CatalogCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum CatalogCommand {
    /// Build a catalog index from catalog files; bad lines are reported and skipped.
    Index {
        /// Catalog files (JSONL or CSV); the format of each is detected.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output folder (created; an older index in it is replaced only once
        /// the new one is complete).
        #[arg(long)]
        out: PathBuf,
        /// Read every file in this format instead of detecting it
        /// (generic, amazon_in, flipkart, lazada).
        #[arg(long, conflicts_with = "map")]
        format: Option<CatalogFormat>,
        /// Read every file as JSONL in another schema, naming which of its
        /// fields fills ours: "id=sku,title=name,description=desc,specs=attributes"
        /// (dotted paths reach nested fields; see docs/catalogs.md).
        #[arg(long)]
        map: Option<FieldMapping>,
        /// Rejected lines printed per run; all are written to <out>/rejected.tsv.
        #[arg(long, default_value_t = 20)]
        show_rejected: usize,
    },
}

/// Rejected lines, one per line: `file<TAB>line<TAB>reason`.
pub const REJECTED_FILE: &str = "rejected.tsv";

pub fn run(args: CatalogArgs) -> anyhow::Result<()> {
    match args.command {
        CatalogCommand::Index { files, out, format, map, show_rejected } => index(&files, &out, format, map.as_ref(), show_rejected),
    }
}

fn index(
    files: &[PathBuf],
    out: &Path,
    format: Option<CatalogFormat>,
    map: Option<&FieldMapping>,
    show_rejected: usize,
) -> anyhow::Result<()> {
    let mut total_bytes = 0;
    for file in files {
        let meta = std::fs::metadata(file).map_err(|e| anyhow::anyhow!("catalog {}: {e}", file.display()))?;
        total_bytes += meta.len();
    }
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {msg}").expect("valid template"),
    );
    let mut done_before = 0u64;
    let mut current: Option<PathBuf> = None;
    let sources: Vec<(PathBuf, Option<CatalogFormat>)> = files.iter().map(|f| (f.clone(), format)).collect();
    let built = index_folder::build(&sources, map, out, &mut |path, bytes| {
        if current.as_deref() != Some(path) {
            if let Some(previous) = &current {
                done_before += std::fs::metadata(previous).map(|m| m.len()).unwrap_or(0);
            }
            current = Some(path.to_path_buf());
            bar.set_message(path.display().to_string());
        }
        bar.set_position(done_before + bytes);
    });
    bar.finish_and_clear();
    let (manifest, report) = built.map_err(|e| anyhow::anyhow!(e))?;
    for s in &manifest.sources {
        eprintln!("{}: {} ({}) products, {} rejected lines", s.path.display(), s.accepted, s.format, s.rejected);
    }
    for r in report.rejected.iter().take(show_rejected) {
        eprintln!("rejected {r}");
    }
    let tsv: String =
        report.rejected.iter().map(|r| format!("{}\t{}\t{}\n", r.path.display(), r.line, r.reason.replace(['\t', '\n'], " "))).collect();
    std::fs::write(out.join(REJECTED_FILE), tsv).map_err(|e| anyhow::anyhow!("writing {}: {e}", out.join(REJECTED_FILE).display()))?;
    if report.rejected.len() > show_rejected {
        eprintln!("… {} more rejected lines in {}", report.rejected.len() - show_rejected, out.join(REJECTED_FILE).display());
    }
    // An empty catalog never gets here: the build refuses it before touching `out`.
    println!("{} products indexed ({} rejected lines) -> {}", manifest.products, report.rejected.len(), out.display());
    Ok(())
}
