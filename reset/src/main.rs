//! camhub-reset: wipes a hub's credentials (its config file, which holds the
//! upload token and the clip key) and its recorded clips, after confirmation.

use std::fs;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use hubcore::config::{self, HubConfig};

/// Wipes the hub's credentials and recorded clips.
///
/// Asks you to type `reset` first; --yes skips the question (for scripts).
/// Exit codes: 0 wiped, 1 not confirmed (nothing deleted), 2 error.
#[derive(Debug, Parser)]
#[command(name = "camhub-reset", bin_name = "camhub-reset", version)]
struct Cli {
    /// The hub's config file (its upload token and clip key); its clip
    /// folder's pending/ and sent/ are wiped with it.
    #[arg(long, default_value = "hub.json")]
    config: PathBuf,
    /// Do not ask for confirmation (for scripts).
    #[arg(long)]
    yes: bool,
}

fn clip_count(dir: &std::path::Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| entries.count())
}

fn run(cli: &Cli) -> Result<bool> {
    let hub: HubConfig = config::load(&cli.config)?;
    let clip_dir = config::relative_to(&cli.config, &hub.clip_dir);
    // Only the folders the hub itself creates, never whatever clip_dir names.
    let folders = [clip_dir.join("pending"), clip_dir.join("sent")];
    let clips: usize = folders.iter().map(|f| clip_count(f)).sum();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "This deletes {} (the hub's upload token and clip key) and {} in {}.",
        cli.config.display(),
        hubcore::counted(clips as u64, "recorded clip", "recorded clips"),
        clip_dir.display()
    )?;
    if !cli.yes {
        write!(out, "Type 'reset' to confirm: ")?;
        out.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "reset" {
            writeln!(out, "not confirmed; nothing was deleted")?;
            return Ok(false);
        }
    }
    for folder in &folders {
        match fs::remove_dir_all(folder) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("{}: cannot delete", folder.display()));
            }
            _ => {}
        }
    }
    fs::remove_file(&cli.config)
        .with_context(|| format!("{}: cannot delete", cli.config.display()))?;
    writeln!(
        out,
        "wiped; create new credentials with `camhub-config new`"
    )?;
    Ok(true)
}

fn main() {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("camhub-reset: {e:#}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
