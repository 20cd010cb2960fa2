//! `repro build`: builds a target and profile of the release matrix with the
//! workspace's own cargo toolchain, outside Nix, into the same layout as the
//! Nix result (`manifest.json` + `<triple>/<bin>`), and with
//! `--test-reproduce` builds it twice under different conditions and compares.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::matrix::{BuildPaths, Plan, Reproducible, Workspace};
use crate::write_manifest::{self, BuildDescription};

pub mod interrupt;
pub mod toolchain;

use toolchain::TripleToolchain;

/// What the manifest records as the way a triple was built: `cargo-native`,
/// or `cargo-cross-from-<machine's triple>`.
pub fn build_mode(toolchain: &TripleToolchain) -> String {
    match (&toolchain.cross_prefix, toolchain.compiler.host()) {
        (Some(_), Some(host)) => format!("cargo-cross-from-{host}"),
        _ => "cargo-native".to_owned(),
    }
}

/// The conditions one build runs under. Run 2 of `--test-reproduce` changes
/// every one of them that a cargo build can feel.
#[derive(Debug, Clone)]
pub struct Conditions {
    pub source: PathBuf,
    pub target_dir: PathBuf,
    pub tz: String,
    pub lc_all: String,
    pub umask: u32,
    pub jobs: usize,
}

impl Conditions {
    pub fn describe(&self) -> String {
        format!(
            "source {}, target dir {}, TZ={}, LC_ALL={}, umask {:03o}, -j {}",
            self.source.display(),
            self.target_dir.display(),
            self.tz,
            self.lc_all,
            self.umask,
            self.jobs
        )
    }
}

/// The commit time of the workspace, for SOURCE_DATE_EPOCH: from the
/// environment when set, else from git.
pub fn source_date_epoch(root: &Path) -> Result<String> {
    if let Ok(value) = std::env::var("SOURCE_DATE_EPOCH") {
        return Ok(value);
    }
    let out = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root)
        .output();
    match out {
        Ok(out) if out.status.success() && !out.stdout.trim_ascii().is_empty() => {
            Ok(String::from_utf8_lossy(out.stdout.trim_ascii()).into_owned())
        }
        _ => bail!(
            "{}: not a git checkout with commits, so the build time cannot come from the last commit; set SOURCE_DATE_EPOCH",
            root.display()
        ),
    }
}

/// The commit the workspace's sources are exactly: `git rev-parse HEAD` when
/// `root` is the top of a git work tree with nothing changed or untracked
/// (ignored files, such as target/ and builds/, do not count). Err says why
/// there is none, for a warning: a release without it cannot be rebuilt.
pub fn source_rev(root: &Path) -> std::result::Result<String, String> {
    let git = |args: &[&str]| -> std::result::Result<String, String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .map_err(|e| format!("cannot run git ({e})"))?;
        if !out.status.success() {
            return Err(format!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(out.stderr.trim_ascii())
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let top = git(&["rev-parse", "--show-toplevel"]).map_err(|e| {
        if e.contains("not a git repository") {
            format!("{} is not a git checkout", root.display())
        } else {
            e
        }
    })?;
    // A workspace in a folder of some other repository is not that repository's commit.
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(top.trim_end_matches('\n')), root) {
        return Err(format!(
            "{} is not the top of its git checkout ({})",
            root.display(),
            top.trim_end()
        ));
    }
    let status = git(&["status", "--porcelain", "--untracked-files=normal"])?;
    if let Some(first) = status.lines().next() {
        let count = status.lines().count();
        return Err(format!(
            "{} has uncommitted changes ({count} path{}, first: `{}`)",
            root.display(),
            if count == 1 { "" } else { "s" },
            crate::style::escape_untrusted(first.trim())
        ));
    }
    let rev = git(&["rev-parse", "HEAD"])?.trim().to_owned();
    if !crate::rebuilderd::input::is_commit_hash(&rev) {
        return Err(format!(
            "git rev-parse HEAD gave `{rev}`, not a commit hash"
        ));
    }
    Ok(rev)
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        })
}

/// What stays the same between the runs of one `repro build`.
pub struct Job<'a> {
    /// The workspace being built (run 2's is the source copy).
    pub workspace: &'a Workspace,
    pub plan: &'a Plan,
    pub flags: &'a Reproducible,
    /// Each triple of the plan's compiler and C toolchain.
    pub toolchains: &'a BTreeMap<String, TripleToolchain>,
    pub epoch: &'a str,
    /// The release version and source revision every run records: taken
    /// from the original tree once, so run 2's copy (no .git) says the same.
    pub version: Option<&'a str>,
    pub source_rev: Option<&'a str>,
}

/// How long one run took, in all and per triple (its cargo builds).
pub struct Took {
    pub total: Duration,
    pub per_triple: BTreeMap<String, Duration>,
}

impl Took {
    /// `x86_64-unknown-linux-gnu 61.0 s, aarch64-unknown-linux-gnu 150.2 s`, in the plan's order.
    pub fn per_triple_line(&self, plan: &Plan) -> String {
        plan.triples
            .iter()
            .filter_map(|t| {
                Some(format!(
                    "{t} {:.1} s",
                    self.per_triple.get(t)?.as_secs_f64()
                ))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Runs every cargo build of the plan under `conditions` and copies the
/// binaries into `out/<triple>/<bin>`, then writes the manifest there.
pub fn build_once(
    job: &Job,
    conditions: &Conditions,
    run_id: &str,
    out: &Path,
    log: &mut dyn Write,
) -> Result<Took> {
    let started = Instant::now();
    let mut per_triple = BTreeMap::new();
    let cargo_home = cargo_home();
    let paths = BuildPaths {
        workspace: &conditions.source,
        cargo_home: &cargo_home,
        target_dir: &conditions.target_dir,
    };
    let rustflags = job.flags.rustflags(&paths).join("\x1f");
    let cflags = job.flags.cflags(&paths).join(" ");
    let inherited: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os()
        .filter(|(name, _)| {
            !name
                .to_str()
                .is_some_and(toolchain::is_inherited_build_variable)
        })
        .collect();
    let count = job.plan.artifacts.len();
    for (done, artifact) in job.plan.artifacts.iter().enumerate() {
        let toolchain = job
            .toolchains
            .get(&artifact.triple)
            .with_context(|| format!("no toolchain was chosen for {}", artifact.triple))?;
        writeln!(
            log,
            "==> [run {run_id}] {} for {} ({} of {count}) (crate={} bin={})",
            artifact.package,
            artifact.triple,
            done + 1,
            artifact.crate_name,
            artifact.bin
        )?;
        let mut cargo = Command::new("cargo");
        cargo
            .current_dir(&conditions.source)
            .args(["build", "--release", "--locked", "-p", &artifact.crate_name])
            .args(["--target", &artifact.triple])
            .arg("--target-dir")
            .arg(&conditions.target_dir)
            .args(["-j", &conditions.jobs.to_string()])
            // The caller's compilers, flags and wrappers (the Nix checks'
            // RUSTC_WRAPPER, `cargo run`'s CARGO_* variables) stay out: the
            // inner build gets only the documented environment.
            .env_clear()
            .envs(inherited.iter().cloned())
            .envs(toolchain::toolchain_env(toolchain))
            .env("CFLAGS", &cflags)
            .env("CARGO_ENCODED_RUSTFLAGS", &rustflags)
            .env("SOURCE_DATE_EPOCH", job.epoch)
            .env("TZ", &conditions.tz)
            .env("LC_ALL", &conditions.lc_all)
            .envs(&job.flags.env);
        if !artifact.features.is_empty() {
            cargo.args(["--features", &artifact.features.join(",")]);
        }
        interrupt::check()?;
        let cargo_started = Instant::now();
        let status = run_stoppable(&mut cargo, conditions.umask)?;
        *per_triple
            .entry(artifact.triple.clone())
            .or_insert(Duration::ZERO) += cargo_started.elapsed();
        if !status.success() {
            bail!(
                "cargo build of `{}` for {} failed ({status})",
                artifact.package,
                artifact.triple
            );
        }
        let built = conditions
            .target_dir
            .join(&artifact.triple)
            .join("release")
            .join(&artifact.cargo_bin);
        let dest = out.join(artifact.bin_path());
        fs::create_dir_all(dest.parent().expect("triple folder"))?;
        fs::copy(&built, &dest)
            .with_context(|| format!("{}: cargo did not produce it", built.display()))?;
        // Released files get fixed permissions whatever the umask was.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o755))?;
    }
    let planned = |t: &&TripleToolchain| job.plan.triples.contains(&t.triple);
    let description = BuildDescription {
        plan: job.plan,
        rust_digests: job
            .toolchains
            .values()
            .filter(planned)
            .map(|t| (t.triple.clone(), t.compiler.digest()))
            .collect(),
        run_id,
        build_modes: job
            .toolchains
            .values()
            .filter(planned)
            .map(|t| (t.triple.clone(), build_mode(t)))
            .collect(),
        // The date the build's inputs have, never when it ran.
        source_date_epoch: Some(job.epoch),
        version: job.version.map(str::to_owned),
        source_rev: job.source_rev.map(str::to_owned),
    };
    let manifest = write_manifest::describe(job.workspace, out, &description)?;
    manifest.write_atomically(out)?;
    Ok(Took {
        total: started.elapsed(),
        per_triple,
    })
}

/// Runs cargo in a process group of its own and waits for it; on a signal
/// (see [`interrupt`]) stops the whole group as a terminal's Ctrl-C would
/// (SIGINT: cargo, rustc, build scripts), waits, and returns Interrupted.
fn run_stoppable(cargo: &mut Command, umask: u32) -> Result<std::process::ExitStatus> {
    use std::os::unix::process::CommandExt;
    cargo.process_group(0);
    let mut child = with_umask(umask, || cargo.spawn()).context("cannot run cargo")?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if let Err(stop) = interrupt::check() {
            // The group's id is cargo's pid, which stays ours until it is
            // reaped below, so the signal cannot reach anyone else.
            // SAFETY: killpg only sends a signal.
            unsafe { libc::killpg(child.id() as libc::pid_t, libc::SIGINT) };
            child.wait()?;
            return Err(stop.into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `f` with the process umask set to `mask`, so children inherit it.
fn with_umask<T>(mask: u32, f: impl FnOnce() -> T) -> T {
    // SAFETY: umask only swaps the process's file mode mask; it cannot fail.
    let previous = unsafe { libc::umask(mask as libc::mode_t) };
    let result = f();
    unsafe { libc::umask(previous) };
    result
}

/// The plan without the triples in `skip`.
pub fn without_triples(plan: &Plan, skip: &[String]) -> Plan {
    let mut plan = plan.clone();
    plan.triples.retain(|t| !skip.contains(t));
    plan.artifacts.retain(|a| !skip.contains(&a.triple));
    plan
}

/// Copies the workspace's sources (not target/, builds/, .git or `extra_skip`)
/// to `dest`, for a build from another path.
pub fn copy_sources(root: &Path, dest: &Path, extra_skip: &[&Path]) -> Result<()> {
    let skip_top = ["target", "builds", ".git", "result"];
    let walker = walkdir::WalkDir::new(root).into_iter().filter_entry(|e| {
        let rel = e.path().strip_prefix(root).unwrap_or(e.path());
        let top_level_skip = e.depth() == 1 && skip_top.iter().any(|s| rel == Path::new(s));
        !top_level_skip && !extra_skip.iter().any(|s| e.path().starts_with(s))
    });
    for entry in walker {
        let entry = entry?;
        let rel = entry.path().strip_prefix(root).expect("under root");
        let to = dest.join(rel);
        let kind = entry.file_type();
        if kind.is_dir() {
            fs::create_dir_all(&to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &to)?;
        } else {
            fs::copy(entry.path(), &to)
                .with_context(|| format!("{}: cannot copy", entry.path().display()))?;
        }
    }
    Ok(())
}

/// A name for this build's folder: the current Unix time.
pub fn stamp() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string()
}
