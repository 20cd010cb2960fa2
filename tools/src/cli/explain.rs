use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::Verdict;
use crate::compare::{self, Report};
use crate::explain::{self, Diffoscope, Explanation};
use crate::hashing;
use crate::progress::Progress;
use crate::style::Style;

/// Options for explaining differences, shared by `explain` and `compare --explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainOptions {
    /// Also run diffoscope on each differing pair (time-limited, size-capped)
    /// and keep its report next to ours. Never required.
    #[arg(long)]
    pub diffoscope: bool,
    /// Where diffoscope's reports go.
    #[arg(long, default_value = "repro-diffoscope")]
    pub diffoscope_dir: PathBuf,
    /// Seconds diffoscope may take per pair.
    #[arg(long, default_value_t = 300)]
    pub diffoscope_timeout: u64,
    /// Larger files are not given to diffoscope (bytes, or with KiB, MiB or GiB).
    #[arg(long, default_value = "256 MiB", value_name = "SIZE")]
    pub diffoscope_max_bytes: super::ByteSize,
}

impl ExplainOptions {
    pub fn diffoscope(&self) -> Option<Diffoscope> {
        self.diffoscope.then(|| Diffoscope {
            report_dir: self.diffoscope_dir.clone(),
            time_limit: Duration::from_secs(self.diffoscope_timeout),
            max_file_bytes: self.diffoscope_max_bytes.0,
        })
    }
}

/// Explain where and probably why the artifacts of two build folders differ.
///
/// For every artifact whose bytes differ: ELF sections and segments side by
/// side, the first differing offsets with hex and text context, strings only
/// one side has, and the likely cause with its usual fix.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first build folder (for example ./result).
    pub a: PathBuf,
    /// The second build folder (for example ./release).
    pub b: PathBuf,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub options: ExplainOptions,
}

/// `--json` output of `explain`: the comparison and its explanations.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExplainReport {
    pub report: Report,
    pub explanations: Vec<Explanation>,
}

impl ExplainReport {
    /// Explains every differing pair of `report`, printing nothing on the
    /// way: the `--json` document of `explain` and `compare --explain`.
    pub fn new(
        report: Report,
        a: &Path,
        b: &Path,
        options: &ExplainOptions,
        progress: Progress,
    ) -> Result<ExplainReport> {
        let diffoscope = options.diffoscope();
        let explanations = explain::explain_report(
            &report,
            a,
            b,
            diffoscope.as_ref(),
            progress,
            &mut |_| Ok(()),
        )?;
        Ok(ExplainReport {
            report,
            explanations,
        })
    }
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    let progress = Progress::for_stderr(args.json);
    let report = compare::compare_showing(&args.a, &args.b, hashing::default_threads(), progress)?;
    let verdict = Verdict::from_passed(report.passed);
    if args.json {
        let document = ExplainReport::new(report, &args.a, &args.b, &args.options, progress)?;
        super::tolerate_broken_pipe(super::write_json(out, &document))?;
        return Ok(verdict);
    }
    let diffoscope = args.options.diffoscope();
    // Each pair's analysis is printed as soon as it is made, before diffoscope.
    let explained = explain::explain_report(
        &report,
        &args.a,
        &args.b,
        diffoscope.as_ref(),
        progress,
        &mut |ready| explain::render_ready(ready, style, out),
    );
    match explained {
        Ok(explanations) if explanations.is_empty() => {
            super::tolerate_broken_pipe(writeln!(
                out,
                "nothing to explain: no artifact in both folders has differing bytes"
            ))?;
        }
        Ok(_) => {}
        Err(e) => super::tolerate_broken_pipe_in(Err(e))?,
    }
    Ok(verdict)
}
