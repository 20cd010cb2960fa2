use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::Verdict;
use crate::compare;
use crate::hashing;
use crate::progress::Progress;
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
    let progress = Progress::for_stderr(args.json);
    let report = compare::compare_showing(&args.a, &args.b, hashing::default_threads(), progress)?;
    let verdict = Verdict::from_passed(report.passed);
    if args.json {
        let written = if args.explain {
            let document = super::explain::ExplainReport::new(
                report,
                &args.a,
                &args.b,
                &args.explain_options,
                progress,
            )?;
            super::write_json(out, &document)
        } else {
            super::write_json(out, &report)
        };
        super::tolerate_broken_pipe(written)?;
        return Ok(verdict);
    }
    // The verdict first, then each pair's analysis as soon as it is made.
    let rendered = compare::render(&report, style, out).and_then(|()| out.flush());
    if let Err(e) = rendered {
        super::tolerate_broken_pipe(Err(e))?;
        return Ok(verdict);
    }
    if args.explain {
        let diffoscope = args.explain_options.diffoscope();
        let explained = crate::explain::explain_report(
            &report,
            &args.a,
            &args.b,
            diffoscope.as_ref(),
            progress,
            &mut |ready| crate::explain::render_ready(ready, style, out),
        );
        super::tolerate_broken_pipe_in(explained.map(drop))?;
    }
    Ok(verdict)
}
