use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::Verdict;
use crate::rebuilderd::api::ClientArgs;
use crate::rebuilderd::collect::{self, Collected, Outcome};
use crate::rebuilderd::release::{self, Release};
use crate::style::{Style, escape_untrusted};

/// Fetch each instance's verdicts on a release and store them in it (signed links, BAD verdicts).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every verdict collected and GOOD, 1 an instance has no verdict yet, says BAD, or served a link that does not fit the release, 2 unusable input or an instance unreachable or answering no rebuilderd answer."
)]
pub struct Args {
    /// The release folder (manifest.json, <triple>/<bin>); its attestations/rebuilderd/ receives the files.
    #[arg(value_name = "RELEASE")]
    pub release: PathBuf,
    /// The rebuilders file; its entries with a `url` are the instances asked.
    #[arg(long, value_name = "FILE", required_unless_present = "instance")]
    pub rebuilders: Option<PathBuf>,
    /// Ask this instance too (or at this address instead): NAME=URL. Repeatable.
    #[arg(long, value_name = "NAME=URL")]
    pub instance: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print a JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// `repro rebuilderd collect --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CollectReport {
    /// The release folder as given.
    pub path: String,
    /// rebuilderd's release: `<target>-<profile>`.
    pub release: String,
    pub version: String,
    /// One per artifact and instance.
    pub results: Vec<Collected>,
    /// Every verdict collected (GOOD links and BAD verdicts alike), none BAD.
    pub complete: bool,
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    let instances = release::instances(args.rebuilders.as_deref(), &args.instance)?;
    let release = Release::load(&args.release)?;
    let results = collect::collect(&release, &instances, &args.client.client())?;
    let worst = |o: Outcome| results.iter().any(|r| r.outcome == o);
    let failed = worst(Outcome::Unreachable) || worst(Outcome::Error);
    let complete = results.iter().all(|r| r.outcome == Outcome::Collected);
    if args.json {
        let report = CollectReport {
            path: args.release.display().to_string(),
            release: release.name.clone(),
            version: release.version.clone(),
            results,
            complete,
        };
        crate::cli::tolerate_broken_pipe(crate::cli::write_json(out, &report))?;
    } else {
        print_lines(&release, &results, style, out)?;
    }
    if failed {
        bail!(
            "some instances could not be asked (UNREACHABLE or ERROR above); run collect again when they answer"
        );
    }
    Ok(Verdict::from_passed(complete))
}

fn print_lines(
    release: &Release,
    results: &[Collected],
    style: &Style,
    out: &mut dyn Write,
) -> Result<()> {
    let label = |r: &Collected| format!("{}/{}", r.triple, r.bin);
    let w_word = results
        .iter()
        .map(|r| r.outcome.word().len())
        .max()
        .unwrap_or(0);
    let w_inst = results.iter().map(|r| r.instance.len()).max().unwrap_or(0);
    let w_art = results.iter().map(|r| label(r).len()).max().unwrap_or(0);
    for r in results {
        let word = format!("{:w_word$}", r.outcome.word());
        let word = match r.outcome {
            Outcome::Collected => style.ok(&word),
            Outcome::Pending => style.info(&word),
            Outcome::Bad | Outcome::Rejected => style.diff(&word),
            Outcome::Unreachable | Outcome::Error => style.fail(&word),
        };
        let mut detail = r.detail.clone();
        if let Some(file) = &r.file {
            detail = format!("{detail}: stored {file}");
        }
        if let Some(removed) = &r.removed {
            detail = format!("{detail}, removed {removed}");
        }
        writeln!(
            out,
            "{word}  {:w_inst$}  {:w_art$}  {}",
            r.instance,
            escape_untrusted(&label(r)),
            escape_untrusted(&detail)
        )?;
    }
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    let named = |o: Outcome| {
        results
            .iter()
            .filter(|r| r.outcome == o)
            .map(|r| format!("{} {}", r.instance, escape_untrusted(&label(r))))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut summary = format!(
        "{} {}: collected {} of {} verdicts",
        escape_untrusted(&release.name),
        escape_untrusted(&release.version),
        count(Outcome::Collected) + count(Outcome::Bad),
        results.len()
    );
    for (o, what) in [
        (Outcome::Bad, "BAD"),
        (Outcome::Pending, "no verdict yet"),
        (Outcome::Rejected, "rejected"),
        (Outcome::Unreachable, "unreachable"),
        (Outcome::Error, "error"),
    ] {
        if count(o) > 0 {
            summary.push_str(&format!("; {what}: {}", named(o)));
        }
    }
    writeln!(out, "{summary}")?;
    Ok(())
}
