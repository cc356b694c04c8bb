//! `productresearch prompts`: list the prompt templates (name, hash, where
//! each comes from) and export the built-in ones to start tuning them.

use std::path::PathBuf;

use productresearch_prompts::PromptSet;

/// `productresearch prompts ...`
#[derive(clap::Args, Debug)]
pub struct PromptsArgs {
    #[command(subcommand)]
    pub command: PromptsCommand,
}

/// The subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PromptsCommand {
    /// List every template with its SHA-256, built-in or overridden by --dir.
    List {
        /// Folder of overrides (a service's `prompts_dir`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Write the built-in templates under a folder (existing files are kept unless --force).
    Export {
        /// Target folder; use it as the services' `prompts_dir`.
        #[arg(long)]
        dir: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `prompts` subcommand.
pub fn run(args: PromptsArgs) -> anyhow::Result<()> {
    match args.command {
        PromptsCommand::List { dir } => {
            let set = PromptSet::load(dir.as_deref())?;
            for (r, file) in set.list() {
                let origin = file.map_or_else(|| "built-in".to_string(), |f| f.display().to_string());
                println!("{:<34} {}  {origin}", r.name, &r.sha256[..16]);
            }
        }
        PromptsCommand::Export { dir, force } => {
            let written = productresearch_prompts::export_builtin(&dir, force)?;
            println!("wrote {} templates under {}", written.len(), dir.display());
        }
    }
    Ok(())
}
