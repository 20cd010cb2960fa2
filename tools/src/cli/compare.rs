use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::Verdict;
use crate::compare;
use crate::hashing;
use crate::style::Style;

/// Prove that two build folders hold bit-for-bit identical artifacts.
///
/// Each folder must directly contain manifest.json (a Nix `result` symlink is
/// fine). Artifacts are matched by package | target | bin; the side with fewer
/// artifacts must be a subset of the other. For each common artifact the build
/// inputs (crate, version, Cargo.lock hash, toolchain digest, build mode) must
/// match, then the SHA-256 of both files, computed now, must match.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first build folder (for example ./result).
    pub a: PathBuf,
    /// The second build folder (for example ./release).
    pub b: PathBuf,
    /// Print one JSON document with the same facts instead of lines.
    #[arg(long)]
    pub json: bool,
    /// After the comparison, explain where and probably why differing binaries differ.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub explain_options: super::explain::ExplainOptions,
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    let report = compare::compare(&args.a, &args.b, hashing::default_threads())?;
    let explanations = if args.explain {
        let diffoscope = args.explain_options.diffoscope();
        crate::explain::explain_report(&report, &args.a, &args.b, diffoscope.as_ref())?
    } else {
        Vec::new()
    };
    let written = match (args.json, args.explain) {
        (true, true) => super::write_json(
            out,
            &super::explain::ExplainReport {
                report: report.clone(),
                explanations,
            },
        ),
        (true, false) => super::write_json(out, &report),
        (false, _) => compare::render(&report, style, out)
            .and_then(|()| crate::explain::render(&explanations, style, out)),
    };
    super::tolerate_broken_pipe(written)?;
    Ok(Verdict::from_passed(report.passed))
}
