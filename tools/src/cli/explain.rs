use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::Verdict;
use crate::compare::{self, Report};
use crate::explain::{self, Diffoscope, Explanation};
use crate::hashing;
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

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    let report = compare::compare(&args.a, &args.b, hashing::default_threads())?;
    let explanations = explain::explain_report(
        &report,
        &args.a,
        &args.b,
        args.options.diffoscope().as_ref(),
    )?;
    let written = if args.json {
        super::write_json(
            out,
            &ExplainReport {
                report: report.clone(),
                explanations,
            },
        )
    } else if explanations.is_empty() {
        writeln!(
            out,
            "nothing to explain: no artifact in both folders has differing bytes"
        )
    } else {
        explain::render(&explanations, style, out)
    };
    super::tolerate_broken_pipe(written)?;
    Ok(Verdict::from_passed(report.passed))
}
