use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::Verdict;
use crate::matrix::Workspace;
use crate::portable::{self, GlibcVersion};
use crate::style::Style;

/// Prove that every binary of a build folder runs on a stock Linux without /nix/store.
///
/// For each artifact of FOLDER's manifest.json: it is an ELF for its triple's
/// architecture; static, or loaded by the system's standard interpreter
/// (/lib64/ld-linux-x86-64.so.2, /lib/ld-linux-aarch64.so.1); no RUNPATH or
/// RPATH; no "/nix/store/" anywhere in the file; no GLIBC_ symbol version
/// newer than the glibc floor. Exit 0 all portable, 1 some not, 2 unusable input.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build folder that directly contains manifest.json.
    pub folder: PathBuf,
    /// The oldest glibc the binaries must run on (e.g. 2.36); by default the
    /// workspace's [workspace.metadata.repro] glibc_floor.
    #[arg(long, value_name = "X.Y", value_parser = parse_floor)]
    pub glibc_floor: Option<GlibcVersion>,
    /// The workspace's Cargo.toml (or its folder) to read glibc_floor from;
    /// found from the current folder by default. Unused with --glibc-floor.
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    /// Print one JSON document with the same facts instead of lines.
    #[arg(long)]
    pub json: bool,
}

fn parse_floor(text: &str) -> Result<GlibcVersion, String> {
    text.parse()
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    let floor = match &args.glibc_floor {
        Some(floor) => floor.clone(),
        None => {
            Workspace::load(args.workspace.as_deref())
                .context("cannot read the glibc floor from the workspace; pass --glibc-floor X.Y, or run inside the workspace")?
                .matrix
                .glibc_floor
        }
    };
    let report = portable::check_folder(&args.folder, &floor)?;
    let written = if args.json {
        super::write_json(out, &report)
    } else {
        portable::render(&report, style, out)
    };
    super::tolerate_broken_pipe(written)?;
    Ok(Verdict::from_passed(report.portable))
}
