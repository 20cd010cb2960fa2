use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::Verdict;
use crate::matrix::{Plan, Workspace};

/// Show what each target and profile of the release matrix builds.
///
/// With --target and --profile, the artifacts of that pair (and the packages
/// skipped for a triple); without, every valid pair.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release target to show (with --profile).
    #[arg(long, requires = "profile")]
    pub target: Option<String>,
    /// The profile of that target to show (with --target).
    #[arg(long, requires = "target")]
    pub profile: Option<String>,
    /// Print the plans as JSON.
    #[arg(long)]
    pub json: bool,
    /// The workspace's Cargo.toml (or its folder); found from the current folder by default.
    #[arg(long)]
    pub workspace: Option<PathBuf>,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let workspace = Workspace::load(args.workspace.as_deref())?;
    let matrix = &workspace.matrix;
    let plans: Vec<Plan> = match (&args.target, &args.profile) {
        (Some(t), Some(p)) => vec![matrix.plan(t, p)?],
        (None, None) => matrix
            .targets
            .iter()
            .flat_map(|(t, target)| target.profiles.keys().map(move |p| (t, p)))
            .map(|(t, p)| matrix.plan(t, p))
            .collect::<Result<_>>()?,
        _ => bail!("pass both --target and --profile, or neither"),
    };
    let written = if args.json {
        super::write_json(out, &plans)
    } else {
        plans.iter().try_for_each(|plan| {
            writeln!(
                out,
                "{}-{}: {}",
                plan.target,
                plan.profile,
                plan.triples.join(" ")
            )?;
            for a in &plan.artifacts {
                let features = if a.features.is_empty() {
                    String::new()
                } else {
                    format!(" --features {}", a.features.join(","))
                };
                writeln!(
                    out,
                    "  {} -> {} (-p {}{features})",
                    a.package,
                    a.bin_path(),
                    a.crate_name
                )?;
            }
            plan.skipped.iter().try_for_each(|s| writeln!(out, "  {s}"))
        })
    };
    super::tolerate_broken_pipe(written)?;
    Ok(Verdict::Passed)
}
