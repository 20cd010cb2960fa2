use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::Verdict;
use crate::layout;
use crate::matrix::Workspace;
use crate::write_manifest::{self, BuildDescription};

/// Write manifest.json for a build folder laid out as <triple>/<bin>.
///
/// Which package, triple and binary each file is comes from the release matrix
/// ([workspace.metadata.repro]) for the given target and profile; crate
/// versions come from `cargo metadata --no-deps`, the lock hash from the
/// workspace's Cargo.lock. The timestamp is SOURCE_DATE_EPOCH when set. The
/// manifest is written to a temporary file and renamed into place.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build folder holding <triple>/<bin> files.
    pub dir: PathBuf,
    /// The release target (`repro matrix` lists each target and its profiles).
    #[arg(long)]
    pub target: String,
    /// The profile of that target.
    #[arg(long)]
    pub profile: String,
    /// The toolchain's identity, as DIGEST for every triple or TRIPLE=DIGEST
    /// (repeatable) when triples were built by different toolchains. Nix
    /// builds give `nix:<name>@<sha256 of its store path>`; cargo builds the
    /// sha256 of `rustc -vV`.
    #[arg(long = "rust-digest", value_name = "[TRIPLE=]DIGEST", required = true)]
    pub rust_digests: Vec<String>,
    /// Names this build among others (Secluso numbers test runs 1 and 2).
    #[arg(long, default_value = "1")]
    pub run_id: String,
    /// How a triple was built, as TRIPLE=MODE (repeatable), e.g.
    /// aarch64-unknown-linux-gnu=nix-cross-from-x86_64-linux.
    #[arg(long = "build-mode", value_name = "TRIPLE=MODE")]
    pub build_modes: Vec<String>,
    /// The workspace's Cargo.toml (or its folder); found from the current folder by default.
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    /// Describe only this triple of the target (repeatable), for a folder
    /// that holds some of its triples, as `repro build
    /// --skip-missing-targets` leaves; every triple by default.
    #[arg(long = "triple", value_name = "TRIPLE")]
    pub triples: Vec<String>,
    /// The release version to record (semver); the workspace's
    /// [workspace.package] version by default.
    #[arg(long, value_name = "VERSION")]
    pub release_version: Option<String>,
    /// The git commit the binaries were built from (40 or 64 lowercase hex),
    /// which rebuilders check out; none by default (a release without it
    /// cannot be rebuilt by rebuilderd).
    #[arg(long, value_name = "COMMIT")]
    pub source_rev: Option<String>,
}

/// `--rust-digest` values as triple → digest: a bare DIGEST names the
/// toolchain of every triple not given its own with TRIPLE=DIGEST.
fn digests_by_triple(given: &[String], triples: &[String]) -> Result<BTreeMap<String, String>> {
    let mut default = None;
    let mut by_triple = BTreeMap::new();
    for value in given {
        match value.split_once('=') {
            Some((triple, digest)) => {
                if !triples.iter().any(|t| t == triple) {
                    bail!(
                        "--rust-digest `{value}`: `{triple}` is not a triple of this build (its triples: {})",
                        triples.join(", ")
                    );
                }
                if by_triple
                    .insert(triple.to_owned(), digest.to_owned())
                    .is_some()
                {
                    bail!("--rust-digest given twice for {triple}");
                }
            }
            None if default.is_some() => {
                bail!(
                    "--rust-digest without a triple given twice; name the triple as TRIPLE=DIGEST"
                )
            }
            None => default = Some(value.clone()),
        }
    }
    if let Some(default) = default {
        for triple in triples {
            by_triple
                .entry(triple.clone())
                .or_insert_with(|| default.clone());
        }
    }
    Ok(by_triple)
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let workspace = Workspace::load(args.workspace.as_deref())?;
    let plan = workspace.matrix.plan(&args.target, &args.profile)?;
    for triple in &args.triples {
        if !plan.triples.contains(triple) {
            bail!(
                "--triple `{}` is not a triple of {}-{} (its triples: {})",
                crate::style::escape_untrusted(triple),
                plan.target,
                plan.profile,
                plan.triples.join(", ")
            );
        }
    }
    let left_out: Vec<String> = plan
        .triples
        .iter()
        .filter(|t| !args.triples.is_empty() && !args.triples.contains(t))
        .cloned()
        .collect();
    let plan = crate::build::without_triples(&plan, &left_out);
    if !args.triples.is_empty() && plan.artifacts.is_empty() {
        bail!(
            "{}-{} ships nothing for {}; name a triple it builds",
            plan.target,
            plan.profile,
            args.triples.join(", ")
        );
    }
    let mut build_modes = BTreeMap::new();
    for given in &args.build_modes {
        let Some((triple, mode)) = given
            .split_once('=')
            .filter(|(t, m)| !t.is_empty() && !m.is_empty())
        else {
            bail!("--build-mode `{given}` is not TRIPLE=MODE");
        };
        build_modes.insert(triple.to_owned(), mode.to_owned());
    }
    let rust_digests = digests_by_triple(&args.rust_digests, &plan.triples)?;
    for skipped in &plan.skipped {
        eprintln!("{skipped}");
    }
    let build = BuildDescription {
        plan: &plan,
        rust_digests,
        run_id: &args.run_id,
        build_modes,
        source_date_epoch: None,
        version: write_manifest::release_version(&workspace, args.release_version.as_deref())?,
        source_rev: match &args.source_rev {
            Some(rev) => {
                write_manifest::check_source_rev(rev).context("--source-rev")?;
                Some(rev.clone())
            }
            None => None,
        },
    };
    let manifest = write_manifest::describe(&workspace, &args.dir, &build)?;
    for file in layout::undescribed_files(
        &args.dir,
        manifest.artifacts.iter().map(|a| a.bin_path.as_str()),
    ) {
        eprintln!(
            "warning: {}: {file} is not described by the manifest",
            args.dir.display()
        );
    }
    let path = manifest.write_atomically(&args.dir)?;
    super::tolerate_broken_pipe(writeln!(
        out,
        "wrote {} ({})",
        path.display(),
        crate::style::counted(manifest.artifacts.len(), "artifact")
    ))?;
    Ok(Verdict::Passed)
}
