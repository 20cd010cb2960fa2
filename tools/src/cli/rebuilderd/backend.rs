use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::Verdict;
use crate::rebuilderd::backend::{self, Options};
use crate::style::escape_untrusted;

/// The rebuilderd worker's backend for camhub: rebuild one job.
///
/// The worker runs its `[backend."camhub"] path` with one argument,
/// inputs/<triple>.json, and REBUILDERD_OUTDIR set: point that path at a
/// script `exec repro rebuilderd backend "$@"`, with --source or the
/// CAMHUB_REBUILD_* variables in the worker's environment. It reads only that input (the release's
/// manifest and the job's triple), fetches the manifest's build.source_rev from
/// --source, checks the checkout is exactly that commit, builds the triple the
/// way the manifest's build mode says (nix build .#<pair> for nix-* modes,
/// `repro build --triple` otherwise) and copies each binary to OUTDIR/<bin>,
/// where the worker compares it with the release's. Output is the build log.
/// It dies with the worker (a killed worker stops the build) and removes its
/// temporary work folder on SIGTERM and Ctrl-C. Exit 0 when every binary
/// matches the release, 1 when one differs, 2 when the job could not be done.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build input the worker downloaded (inputs/<triple>.json).
    pub input: PathBuf,
    /// Where the release's source is: a git remote URL or a local repository
    /// or mirror path holding build.source_rev.
    #[arg(long, env = "CAMHUB_REBUILD_SOURCE", value_name = "GIT")]
    pub source: String,
    /// A work folder to keep and reuse (its checkout and cargo cache make the
    /// next rebuild faster; backends sharing one take turns); a temporary
    /// folder under TMPDIR, removed afterwards, by default.
    #[arg(long, env = "CAMHUB_REBUILD_WORK_DIR", value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// The repro that runs `repro build`; by default the checkout's own,
    /// built first, since that revision's build flags made the release.
    #[arg(long, env = "CAMHUB_REBUILD_REPRO", value_name = "PATH")]
    pub repro: Option<PathBuf>,
    /// Where the rebuilt binaries go, each as <bin>; the worker sets
    /// REBUILDERD_OUTDIR.
    #[arg(long, env = "REBUILDERD_OUTDIR", value_name = "DIR")]
    pub out_dir: PathBuf,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    crate::rebuilderd::die_with_parent()?;
    crate::build::interrupt::install_patient()?;
    let options = Options {
        input: &args.input,
        source: &args.source,
        work_dir: args.work_dir.as_deref(),
        repro: args.repro.as_deref(),
        out_dir: &args.out_dir,
    };
    // The log is one stream: the worker keeps stdout and stderr together.
    let mut log = std::io::stderr();
    let rebuilt = backend::rebuild(&options, &mut log)?;
    let mut all_match = true;
    for r in &rebuilt {
        let verdict = match &r.release_sha256 {
            Some(_) if r.matches() => "equals the release's".to_owned(),
            Some(theirs) => {
                all_match = false;
                format!("DIFFERS from the release's {}", escape_untrusted(theirs))
            }
            None => {
                all_match = false;
                "the manifest records no sha256 to compare with".to_owned()
            }
        };
        writeln!(
            out,
            "{}: sha256 {} {verdict}",
            escape_untrusted(&r.bin),
            r.sha256
        )?;
    }
    Ok(Verdict::from_passed(all_match))
}
