use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::Verdict;
use crate::rebuilderd::api::ClientArgs;
use crate::rebuilderd::sync;

/// Feed a rebuilderd instance every live release, from its URLs or from a served folder.
///
/// With --release-url (repeat it for every live version): each URL is a
/// published release folder, holding manifest.json and the build inputs
/// rebuilderd/<triple>.json its publisher's `repro rebuilderd sync` wrote;
/// each input must be exactly the one its manifest makes, or nothing is
/// reported. Nothing is written to the release host.
///
/// With ROOT and --base-url (a mirror): every subfolder of ROOT that holds
/// manifest.json is a release served at <base-url>/<subfolder>/. For each of
/// its triples this writes the build input <subfolder>/rebuilderd/<triple>.json
/// (left alone when already right), which must then be served with the release.
///
/// Either way it makes one rebuilderd PackageReport per (release
/// <target>-<profile>, triple), listing every live version of it: a report
/// replaces what the instance knows of that release and triple.
/// Without --out the reports go to stdout, one JSON document per line;
/// `rebuildctl pkgs sync-stdin` takes ONE report per call, so feed it line by
/// line (e.g. `while read -r r; do printf '%s\n' "$r" | rebuildctl pkgs
/// sync-stdin; done`), or use --out and pass each file.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("releases")
        .required(true)
        .args(["root", "release_url"])
))]
pub struct Args {
    /// The folder whose subfolders are the served release folders (a mirror;
    /// with --base-url, instead of --release-url).
    #[arg(requires = "base_url")]
    pub root: Option<PathBuf>,
    /// The http(s) URL ROOT is served at; release folder names are
    /// percent-encoded below it.
    #[arg(
        long,
        value_name = "URL",
        requires = "root",
        conflicts_with = "release_url"
    )]
    pub base_url: Option<String>,
    /// The http(s) URL of a published release folder (the one holding
    /// manifest.json); repeat it for every live release. Instead of ROOT.
    #[arg(long, value_name = "URL")]
    pub release_url: Vec<String>,
    /// Write each report to DIR/<distribution>-<release>-<triple>.json
    /// instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let synced = match (&args.root, &args.base_url) {
        (Some(root), Some(base_url)) => sync::sync(root, base_url)?,
        // clap's group: no ROOT means --release-url, at least once.
        _ => sync::sync_urls(&args.release_url, &args.client.client())?,
    };
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
    let releases = crate::style::counted(synced.releases.len(), "release folder");
    let reports = crate::style::counted(synced.reports.len(), "report");
    if args.root.is_some() {
        eprintln!(
            "{releases}, {reports}: {} written, {} already up to date",
            crate::style::counted(synced.written.len(), "build input"),
            synced.unchanged
        );
    } else {
        eprintln!(
            "{releases}, {reports}: {} served exactly as their manifests make them",
            crate::style::counted(synced.unchanged, "build input"),
        );
    }
    Ok(Verdict::Passed)
}
