use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::Verdict;
use crate::build::{self, Conditions, Job};
use crate::compare;
use crate::hashing;
use crate::matrix::Workspace;
use crate::portable::{self, GlibcVersion};
use crate::style::{Style, escape_untrusted};
use crate::write_manifest;

/// Build a target and profile with the workspace's cargo toolchain, outside Nix.
///
/// One `cargo build --release --locked -p <crate> --features <f> --target
/// <triple>` per package and triple, sharing one target dir, with the
/// deterministic flags of [workspace.metadata.repro.reproducible]. Each
/// triple's compiler: RUSTC if set, else rust-toolchain.toml's when it has
/// the triple's standard library, else the first of cargo.rustc_fallbacks
/// that has it; a triple other than the machine's is linked with the C cross
/// toolchain of cargo.cross_prefix. The manifest records each triple's compiler. Output:
/// builds/<unix-time>/manifest.json + <triple>/<bin>, like the Nix result.
/// With --test-reproduce: run1 and run2 under builds/<unix-time>/, run2 from a
/// copy of the sources at another path in a fresh target dir with TZ, LC_ALL,
/// umask and the job count changed, then `repro compare run1 run2`.
/// Every build folder is then checked as `repro portable` does, with the
/// workspace's glibc_floor; a binary that is not portable fails the build (exit 1).
/// The manifest names the release version and, when the workspace is a git
/// checkout without uncommitted changes, its commit (build.source_rev), which
/// rebuilders check out; otherwise a warning says nobody can rebuild it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release target (`repro matrix` lists each target and its profiles).
    #[arg(long)]
    pub target: String,
    /// The profile of that target.
    #[arg(long)]
    pub profile: String,
    /// Where build folders go; builds/ in the workspace by default.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Build twice under different conditions and compare the two.
    #[arg(long)]
    pub test_reproduce: bool,
    /// Leave out triples that cannot be built here (no Rust standard library or
    /// C cross toolchain for them), instead of failing.
    #[arg(long)]
    pub skip_missing_targets: bool,
    /// The workspace's Cargo.toml (or its folder); found from the current folder by default.
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    /// The release version the manifest records (semver); the workspace's
    /// [workspace.package] version by default.
    #[arg(long, value_name = "VERSION")]
    pub release_version: Option<String>,
    /// Build only this triple of the target (repeatable); the manifest then
    /// describes only these. Every triple of the target by default.
    #[arg(long = "triple", value_name = "TRIPLE")]
    pub triples: Vec<String>,
}

/// The plan restricted to the `--triple`s given (all when none); a triple
/// the target does not build is an error naming those it does.
fn only_triples(plan: crate::matrix::Plan, wanted: &[String]) -> Result<crate::matrix::Plan> {
    if wanted.is_empty() {
        return Ok(plan);
    }
    for triple in wanted {
        if !plan.triples.contains(triple) {
            bail!(
                "--triple `{}` is not a triple of {}-{} (its triples: {})",
                escape_untrusted(triple),
                plan.target,
                plan.profile,
                plan.triples.join(", ")
            );
        }
    }
    let others: Vec<String> = plan
        .triples
        .iter()
        .filter(|t| !wanted.contains(t))
        .cloned()
        .collect();
    let plan = build::without_triples(&plan, &others);
    if plan.artifacts.is_empty() {
        bail!(
            "{}-{} ships nothing for {}; name a triple it builds",
            plan.target,
            plan.profile,
            wanted.join(", ")
        );
    }
    Ok(plan)
}

/// Removes a half-built folder unless the build finished.
struct Partial(Option<PathBuf>);

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    build::interrupt::install()?;
    let workspace = Workspace::load(args.workspace.as_deref())?;
    let flags = workspace.matrix.reproducible.clone().with_context(|| {
        format!(
            "{}: no [workspace.metadata.repro.reproducible] table; repro build needs the deterministic flags",
            workspace.manifest_path.display()
        )
    })?;
    let plan = workspace.matrix.plan(&args.target, &args.profile)?;
    for skipped in &plan.skipped {
        eprintln!("{skipped}");
    }
    let plan = only_triples(plan, &args.triples)?;
    let version = write_manifest::release_version(&workspace, args.release_version.as_deref())?;
    let (toolchains, unbuildable) =
        build::toolchain::choose(&workspace.root, &flags, &plan.triples)?;
    if let Some(first) = unbuildable.first()
        && !args.skip_missing_targets
    {
        bail!("{first}");
    }
    for triple in &unbuildable {
        writeln!(out, "SKIP {triple}")?;
    }
    for t in &toolchains {
        let c_toolchain = match &t.cross_prefix {
            Some(prefix) => format!("cross C toolchain {prefix}gcc"),
            None => "the machine's C toolchain".to_owned(),
        };
        writeln!(
            out,
            "{}: {} ({}, {}), {c_toolchain}",
            t.triple,
            t.compiler.version(),
            t.compiler.origin,
            t.compiler.rustc.display()
        )?;
    }
    let missing: Vec<String> = unbuildable.into_iter().map(|u| u.triple).collect();
    let toolchains = toolchains
        .into_iter()
        .map(|t| (t.triple.clone(), t))
        .collect();
    let plan = build::without_triples(&plan, &missing);
    if plan.artifacts.is_empty() {
        bail!(
            "nothing to build: every triple of {}-{} was skipped",
            plan.target,
            plan.profile
        );
    }
    if version.is_none() {
        eprintln!(
            "warning: {} has no [workspace.package] version and no --release-version was given: the manifest names no release version, so rebuilders and devices cannot use it",
            workspace.manifest_path.display()
        );
    }
    // Before anything is written: builds/ and target/ are ignored by git,
    // but a --out inside the tree would not be.
    let source_rev = match build::source_rev(&workspace.root) {
        Ok(rev) => Some(rev),
        Err(why) => {
            eprintln!(
                "warning: {why}: the manifest names no source revision (build.source_rev), so rebuilders cannot rebuild this release; commit first, then build"
            );
            None
        }
    };
    let epoch = build::source_date_epoch(&workspace.root)?;

    let builds = args
        .out
        .clone()
        .unwrap_or_else(|| workspace.root.join("builds"));
    std::fs::create_dir_all(&builds)
        .with_context(|| format!("{}: cannot create", builds.display()))?;
    let stamp = build::stamp();
    let finished = builds.join(&stamp);
    if finished.exists() {
        bail!(
            "{}: already exists; wait a second and try again",
            finished.display()
        );
    }
    let partial_path = builds.join(format!(".{stamp}.partial"));
    std::fs::create_dir(&partial_path)
        .with_context(|| format!("{}: cannot create", partial_path.display()))?;
    let mut partial = Partial(Some(partial_path.clone()));

    let cores = hashing::default_threads();
    let run1 = Conditions {
        source: workspace.root.clone(),
        target_dir: workspace.root.join("target").join("repro-build"),
        tz: "UTC".into(),
        lc_all: "C.UTF-8".into(),
        umask: 0o022,
        jobs: cores,
    };
    let mut log = std::io::stderr();
    let job = Job {
        workspace: &workspace,
        plan: &plan,
        flags: &flags,
        toolchains: &toolchains,
        epoch: &epoch,
        version: version.as_deref(),
        source_rev: source_rev.as_deref(),
    };

    if !args.test_reproduce {
        let took = build::build_once(&job, &run1, "1", &partial_path, &mut log)?;
        build::interrupt::check()?;
        std::fs::rename(&partial_path, &finished)?;
        partial.0 = None;
        writeln!(
            out,
            "built {} in {:.1} s: {}",
            crate::style::counted(plan.artifacts.len(), "artifact"),
            took.total.as_secs_f64(),
            finished.display()
        )?;
        writeln!(out, "  per triple: {}", took.per_triple_line(&plan))?;
        let floor = &workspace.matrix.glibc_floor;
        let not_portable = check_portable(&finished, floor, style, out)?;
        return verdict(true, &not_portable, out);
    }

    let took1 = build::build_once(&job, &run1, "1", &partial_path.join("run1"), &mut log)?;
    let elsewhere = tempfile::Builder::new()
        .prefix("repro-rebuild-")
        .tempdir()?;
    let source2 = elsewhere
        .path()
        .join("a-different-path")
        .join("source-copy");
    build::interrupt::check()?;
    build::copy_sources(
        &workspace.root,
        &source2,
        &[builds.as_path(), Path::new(&partial_path)],
    )?;
    build::interrupt::check()?;
    let run2 = Conditions {
        source: source2.clone(),
        target_dir: elsewhere.path().join("fresh-target"),
        tz: "Asia/Kolkata".into(),
        lc_all: "fr_FR.UTF-8".into(),
        umask: 0o077,
        jobs: cores + 1,
    };
    let workspace2 = Workspace::load(Some(&source2))?;
    let took2 = build::build_once(
        &Job {
            workspace: &workspace2,
            ..job
        },
        &run2,
        "2",
        &partial_path.join("run2"),
        &mut log,
    )?;
    build::interrupt::check()?;
    std::fs::rename(&partial_path, &finished)?;
    partial.0 = None;

    writeln!(
        out,
        "run1: {} in {:.1} s ({})",
        crate::style::counted(plan.artifacts.len(), "artifact"),
        took1.total.as_secs_f64(),
        run1.describe()
    )?;
    writeln!(out, "  per triple: {}", took1.per_triple_line(&plan))?;
    writeln!(
        out,
        "run2: {} in {:.1} s ({})",
        crate::style::counted(plan.artifacts.len(), "artifact"),
        took2.total.as_secs_f64(),
        run2.describe()
    )?;
    writeln!(out, "  per triple: {}", took2.per_triple_line(&plan))?;
    let floor = &workspace.matrix.glibc_floor;
    let mut not_portable = check_portable(&finished.join("run1"), floor, style, out)?;
    not_portable.extend(check_portable(&finished.join("run2"), floor, style, out)?);
    let report = compare::compare(&finished.join("run1"), &finished.join("run2"), cores)?;
    super::tolerate_broken_pipe(compare::render(&report, style, out))?;
    verdict(report.passed, &not_portable, out)
}

/// Checks a finished build folder as `repro portable` does and prints the
/// report; returns the folder's binaries that are not portable.
fn check_portable(
    dir: &Path,
    floor: &GlibcVersion,
    style: &Style,
    out: &mut dyn Write,
) -> Result<Vec<String>> {
    let report = portable::check_folder(dir, floor)?;
    super::tolerate_broken_pipe(portable::render(&report, style, out))?;
    Ok(report
        .not_portable()
        .map(|a| format!("{}/{}", dir.display(), a.bin_path))
        .collect())
}

/// The build's verdict: reproducible (when that was tested) and portable. A
/// portability failure gets the last line, so it cannot hide above a PASSED.
fn verdict(reproducible: bool, not_portable: &[String], out: &mut dyn Write) -> Result<Verdict> {
    if !not_portable.is_empty() {
        let names: Vec<String> = not_portable.iter().map(|n| escape_untrusted(n)).collect();
        super::tolerate_broken_pipe(writeln!(
            out,
            "repro build FAILED: not portable: {}",
            names.join(", ")
        ))?;
    }
    Ok(Verdict::from_passed(
        reproducible && not_portable.is_empty(),
    ))
}
