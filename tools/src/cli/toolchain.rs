use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::Verdict;
use crate::build::{self, toolchain};
use crate::matrix::Workspace;
use crate::style::escape_untrusted;

/// Show the compiler and C toolchain `repro build` uses for each triple.
///
/// For each triple: the Rust compiler (RUSTC if set, else rust-toolchain.toml's
/// when it has the triple's standard library, else the first of the matrix's
/// cargo.rustc_fallbacks that has it), the rust_digest the manifest records,
/// the build mode, and the variables the inner cargo gets for it (with
/// --json, to run cargo yourself the way `repro build` does, e.g. the tests
/// for another triple). A triple that cannot be built here is named with what
/// to install; the exit code is then 2.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The triples to show; every triple of the release matrix by default.
    #[arg(long = "triple", value_name = "TRIPLE")]
    pub triples: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// The workspace's Cargo.toml (or its folder); found from the current folder by default.
    #[arg(long)]
    pub workspace: Option<PathBuf>,
}

/// One triple's toolchain, as `--json` prints it.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Shown {
    pub triple: String,
    pub rustc: String,
    /// `RUSTC`, `rust-toolchain.toml` or `cargo.rustc_fallbacks`.
    pub origin: String,
    pub version: String,
    pub rust_digest: String,
    pub build_mode: String,
    pub cross_prefix: Option<String>,
    pub env: std::collections::BTreeMap<String, String>,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let workspace = Workspace::load(args.workspace.as_deref())?;
    let Some(flags) = workspace.matrix.reproducible.clone() else {
        bail!(
            "{}: no [workspace.metadata.repro.reproducible] table",
            workspace.manifest_path.display()
        );
    };
    let triples = if args.triples.is_empty() {
        let mut all: Vec<String> = workspace
            .matrix
            .targets
            .values()
            .flat_map(|t| t.triples.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    } else {
        args.triples.clone()
    };
    let (chosen, unbuildable) = toolchain::choose(&workspace.root, &flags, &triples)?;
    let shown: Vec<Shown> = chosen
        .iter()
        .map(|t| Shown {
            triple: t.triple.clone(),
            rustc: t.compiler.rustc.display().to_string(),
            origin: t.compiler.origin.to_string(),
            version: t.compiler.version().to_owned(),
            rust_digest: t.compiler.digest(),
            build_mode: build::build_mode(t),
            cross_prefix: t.cross_prefix.clone(),
            env: toolchain::toolchain_env(t)
                .into_iter()
                .map(|(k, v)| (k, v.to_string_lossy().into_owned()))
                .collect(),
        })
        .collect();
    let written = if args.json {
        super::write_json(out, &shown)
    } else {
        shown.iter().try_for_each(|s| {
            writeln!(
                out,
                "{}: {} ({}, {})",
                s.triple,
                escape_untrusted(&s.version),
                s.origin,
                escape_untrusted(&s.rustc)
            )?;
            writeln!(out, "  rust_digest {}", escape_untrusted(&s.rust_digest))?;
            writeln!(out, "  build mode  {}", s.build_mode)?;
            s.env
                .iter()
                .try_for_each(|(k, v)| writeln!(out, "  {k}={}", escape_untrusted(v)))
        })
    };
    super::tolerate_broken_pipe(written)?;
    if let Some(first) = unbuildable.first() {
        bail!("{first}");
    }
    Ok(Verdict::Passed)
}
