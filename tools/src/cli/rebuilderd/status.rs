use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::Verdict;
use crate::rebuilderd::api::ClientArgs;
use crate::rebuilderd::release::{self, Release};
use crate::rebuilderd::status::{self, ReleaseStatus, State};
use crate::style::{Style, escape_untrusted};

/// Show every instance's verdict on each artifact of releases, side by side.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every instance GOOD on every artifact, 1 some verdict is BAD or not there yet, 2 unusable input or an instance unreachable or answering no rebuilderd answer."
)]
pub struct Args {
    /// Release folders (each with its manifest.json).
    #[arg(value_name = "RELEASE", required = true)]
    pub releases: Vec<PathBuf>,
    /// The rebuilders file; its entries with a `url` are the instances asked.
    #[arg(long, value_name = "FILE", required_unless_present = "instance")]
    pub rebuilders: Option<PathBuf>,
    /// Ask this instance too (or at this address instead): NAME=URL. Repeatable.
    #[arg(long, value_name = "NAME=URL")]
    pub instance: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print a JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `repro rebuilderd status --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatusReport {
    /// The instances asked, in column order.
    pub instances: Vec<String>,
    pub releases: Vec<ReleaseStatus>,
    /// Every instance GOOD on every artifact.
    pub all_good: bool,
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    let instances = release::instances(args.rebuilders.as_deref(), &args.instance)?;
    let loaded = args
        .releases
        .iter()
        .map(|dir| Release::load(dir))
        .collect::<Result<Vec<_>>>()?;
    let client = args.client.client();
    let releases: Vec<ReleaseStatus> = loaded
        .iter()
        .map(|r| status::status(r, &instances, &client))
        .collect();
    let states = || {
        releases
            .iter()
            .flat_map(|r| &r.artifacts)
            .flat_map(|a| &a.instances)
            .map(|c| c.state)
    };
    let all_good = states().all(|s| s == State::Good);
    let failed = states().any(|s| matches!(s, State::Unreachable | State::Error));
    let names: Vec<String> = instances.iter().map(|i| i.name.clone()).collect();
    if args.json {
        let report = StatusReport {
            instances: names,
            releases,
            all_good,
        };
        crate::cli::tolerate_broken_pipe(crate::cli::write_json(out, &report))?;
    } else {
        print_table(&names, &releases, style, out)?;
    }
    if failed {
        bail!(
            "some instances could not be asked (UNREACHABLE or ERROR above); check their addresses and that they run"
        );
    }
    Ok(Verdict::from_passed(all_good))
}

fn print_table(
    names: &[String],
    releases: &[ReleaseStatus],
    style: &Style,
    out: &mut dyn Write,
) -> Result<()> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec![
        "RELEASE".to_owned(),
        "VERSION".to_owned(),
        "ARTIFACT".to_owned(),
    ];
    header.extend(names.iter().cloned());
    rows.push(header);
    let mut notes = Vec::new();
    for r in releases {
        for a in &r.artifacts {
            let mut row = vec![
                escape_untrusted(&r.release),
                escape_untrusted(&r.version),
                escape_untrusted(&format!("{}/{}", a.triple, a.bin)),
            ];
            for c in &a.instances {
                row.push(c.state.word().to_owned());
                if let (Some(detail), State::Unreachable | State::Error | State::Queued) =
                    (&c.detail, c.state)
                    && !notes.contains(detail)
                {
                    notes.push(detail.clone());
                }
            }
            rows.push(row);
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for (n, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let last = i + 1 == row.len();
            let pad = if last {
                cell.clone()
            } else {
                format!("{cell:w$}", w = widths[i])
            };
            let shown = if n == 0 || i < 3 {
                pad
            } else {
                match cell.as_str() {
                    "GOOD" => style.ok(&pad),
                    "BAD" => style.diff(&pad),
                    "UNREACHABLE" | "ERROR" => style.fail(&pad),
                    _ => style.info(&pad),
                }
            };
            line.push_str(&shown);
            if !last {
                line.push_str("  ");
            }
        }
        writeln!(out, "{line}")?;
    }
    for note in notes {
        writeln!(out, "{}", escape_untrusted(&note))?;
    }
    Ok(())
}
