use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::Verdict;
use crate::rebuilderd::sync;

/// Feed a rebuilderd instance every live release under ROOT.
///
/// Every subfolder of ROOT that holds manifest.json is a release served at
/// <base-url>/<subfolder>/. For each of its triples this writes the build input
/// <subfolder>/rebuilderd/<triple>.json (left alone when already right), which
/// must then be served with the release. It makes one rebuilderd PackageReport
/// per (release <target>-<profile>, triple), listing every live version of it:
/// a report replaces what the instance knows of that release and triple.
/// Without --out the reports go to stdout, one JSON document per line;
/// `rebuildctl pkgs sync-stdin` takes ONE report per call, so feed it line by
/// line (e.g. `while read -r r; do printf '%s\n' "$r" | rebuildctl pkgs
/// sync-stdin; done`), or use --out and pass each file.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder whose subfolders are the served release folders.
    pub root: PathBuf,
    /// The http(s) URL ROOT is served at; release folder names are
    /// percent-encoded below it.
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// Write each report to DIR/<distribution>-<release>-<triple>.json
    /// instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let synced = sync::sync(&args.root, &args.base_url)?;
    for path in &synced.written {
        eprintln!("wrote {}", path.display());
    }
    match &args.out {
        None => {
            for report in &synced.reports {
                let line = serde_json::to_string(report).expect("a report always serialises");
                crate::cli::tolerate_broken_pipe(writeln!(out, "{line}"))?;
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            for report in &synced.reports {
                let path = dir.join(report.file_name());
                let mut bytes = serde_json::to_vec(report).expect("a report always serialises");
                bytes.push(b'\n');
                crate::atomic::write(&path, &bytes, 0o644)?;
                crate::cli::tolerate_broken_pipe(writeln!(out, "wrote {}", path.display()))?;
            }
        }
    }
    eprintln!(
        "{}, {}: {} written, {} already up to date",
        crate::style::counted(synced.releases.len(), "release folder"),
        crate::style::counted(synced.reports.len(), "report"),
        crate::style::counted(synced.written.len(), "build input"),
        synced.unchanged
    );
    Ok(Verdict::Passed)
}
