//! The camhub backend of a rebuilderd worker: from one build input, check
//! out the release's exact source revision, build the job's triple the way
//! the release was built, and leave each binary in the worker's out folder
//! under the name the worker compares it by.
//!
//! The worker ignores the exit status and compares files itself; the
//! backend still fails loudly (non-zero, the reason last in the log) so an
//! operator reading the build log sees why a file is missing.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::input;
use super::process::{
    RemovedOnDrop, Succeeded, lock_work_dir, reap_orphans, run_capture, run_logged, which,
};
use crate::build::interrupt;
use crate::hashing::{self, HashError};
use crate::manifest::Manifest;
use crate::style::escape_untrusted;

/// What one backend run is told.
pub struct Options<'a> {
    pub input: &'a Path,
    /// A git remote URL or a local repository path holding the release's commit.
    pub source: &'a str,
    /// Kept (and reused) when given; a temporary folder otherwise.
    pub work_dir: Option<&'a Path>,
    /// The repro that builds; None builds the checkout's own.
    pub repro: Option<&'a Path>,
    pub out_dir: &'a Path,
}

/// What the rebuild gave, per binary.
pub struct Rebuilt {
    pub bin: String,
    pub sha256: String,
    pub release_sha256: Option<String>,
}

impl Rebuilt {
    pub fn matches(&self) -> bool {
        self.release_sha256.as_deref() == Some(self.sha256.as_str())
    }
}

/// Reads and checks the build input: one bounded read of a regular file.
pub fn read_input(path: &Path) -> Result<(input::RebuildInput, Manifest)> {
    let bytes = match hashing::read_regular(path, input::INPUT_LIMIT) {
        Ok(bytes) => bytes,
        Err(HashError::TooLarge { .. }) => bail!(
            "{}: larger than {} bytes, which no build input is; pass the <triple>.json the worker downloaded",
            path.display(),
            input::INPUT_LIMIT
        ),
        Err(e) => bail!(
            "{}: {e}; pass the build input (<triple>.json) the worker downloaded",
            path.display()
        ),
    };
    let (input, manifest) = input::parse(&bytes).with_context(|| format!("{}", path.display()))?;
    for artifact in manifest
        .artifacts
        .iter()
        .filter(|a| a.target == input.triple)
    {
        // Each binary is written to OUTDIR/<bin>: a plain name only.
        if artifact.bin_path != format!("{}/{}", artifact.target, artifact.bin)
            || crate::layout::check(artifact).is_err()
        {
            bail!(
                "{}: artifact `{}` has bin_path `{}`; a rebuilderd release lays binaries out as <triple>/<bin>",
                path.display(),
                escape_untrusted(&artifact.display_key()),
                escape_untrusted(&artifact.bin_path)
            );
        }
    }
    Ok((input, manifest))
}

/// How a triple is rebuilt: as the manifest says it was built.
#[derive(Debug, PartialEq, Eq)]
pub enum Way {
    /// `nix build <checkout>#<attribute>`.
    Nix { mode: String, attribute: String },
    /// `repro build`.
    Cargo { mode: Option<String> },
}

/// The way to rebuild `triple` of `manifest`, from its build_modes.
pub fn way(manifest: &Manifest, triple: &str) -> Way {
    let build = &manifest.build;
    match build.build_modes.get(triple) {
        Some(mode) if mode.starts_with("nix-") => {
            let pair = super::release_name(&build.target, &build.profile);
            // nix/lib/release-folders.nix: the canonical folder is the pair;
            // aarch64 built on aarch64 is its `-aarch64-native` variant.
            let attribute = if mode == "nix-native-aarch64-linux" {
                format!("{pair}-aarch64-native")
            } else {
                pair
            };
            Way::Nix {
                mode: mode.clone(),
                attribute,
            }
        }
        mode => Way::Cargo {
            mode: mode.cloned(),
        },
    }
}

/// The `nix build` command line of a Nix-built release.
pub fn nix_command(checkout: &Path, attribute: &str, out_link: &Path) -> Vec<OsString> {
    let mut flake = checkout.as_os_str().to_owned();
    flake.push(format!("#{attribute}"));
    vec![
        "nix".into(),
        "--extra-experimental-features".into(),
        "nix-command flakes".into(),
        "build".into(),
        "--print-build-logs".into(),
        "--out-link".into(),
        out_link.as_os_str().to_owned(),
        flake,
    ]
}

/// The `repro build` command line of a cargo-built release.
pub fn repro_build_command(
    repro: &Path,
    checkout: &Path,
    manifest: &Manifest,
    triple: &str,
    out: &Path,
) -> Vec<OsString> {
    let build = &manifest.build;
    let mut args: Vec<OsString> = vec![
        repro.as_os_str().to_owned(),
        "build".into(),
        "--workspace".into(),
        checkout.as_os_str().to_owned(),
        "--target".into(),
        build.target.clone().into(),
        "--profile".into(),
        build.profile.clone().into(),
        "--triple".into(),
        triple.into(),
        "--out".into(),
        out.as_os_str().to_owned(),
    ];
    // The release may have been named with --release-version: say the same.
    if let Some(version) = &build.version {
        args.push("--release-version".into());
        args.push(version.into());
    }
    args
}

/// Runs one rebuild; `log` is the build log the worker keeps.
pub fn rebuild(options: &Options, log: &mut dyn Write) -> Result<Vec<Rebuilt>> {
    let started = Instant::now();
    let (input, manifest) = read_input(options.input)?;
    let triple = input.triple.as_str();
    let rev = manifest
        .build
        .source_rev
        .as_deref()
        .expect("input::parse requires it");
    let version = manifest.build.version.as_deref().unwrap_or_default();
    writeln!(
        log,
        "==> rebuilding {} {} for {triple} from {} at {rev}",
        escape_untrusted(&super::release_name(
            &manifest.build.target,
            &manifest.build.profile
        )),
        escape_untrusted(version),
        escape_untrusted(options.source)
    )?;
    let way = way(&manifest, triple);
    if let Way::Nix { mode, .. } = &way
        && which("nix").is_none()
    {
        bail!(
            "this release was built with Nix (build mode `{}` for {triple}), and `nix` is not on this worker's PATH; install Nix (with flakes) on the worker to rebuild it",
            escape_untrusted(mode)
        );
    }

    let mut temporary = None;
    let mut _lock = None;
    let work = match options.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the work folder", dir.display()))?;
            _lock = Some(lock_work_dir(dir, log)?);
            dir.to_owned()
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("repro-rebuilderd-")
                .tempdir()
                .context("cannot create a temporary work folder (TMPDIR)")?
                .keep();
            temporary = Some(RemovedOnDrop(dir.clone()));
            dir
        }
    };
    let result = build_in(&work, options, &manifest, triple, &way, log);
    // What the build started and left behind (a cargo that died of its
    // closed log pipe leaves its rustc running) must be gone before its
    // folder is removed, or it writes into it as it is removed.
    reap_orphans();
    drop(temporary);
    let rebuilt = result?;
    writeln!(
        log,
        "==> rebuilt {triple} in {:.1} s",
        started.elapsed().as_secs_f64()
    )?;
    Ok(rebuilt)
}

/// The rebuild proper, in the work folder `work`.
fn build_in(
    work: &Path,
    options: &Options,
    manifest: &Manifest,
    triple: &str,
    way: &Way,
    log: &mut dyn Write,
) -> Result<Vec<Rebuilt>> {
    let rev = manifest
        .build
        .source_rev
        .as_deref()
        .expect("input::parse requires it");
    let checkout = work.join("checkout");
    let took = Instant::now();
    fetch(options.source, rev, &checkout, log)?;
    writeln!(
        log,
        "==> checked out {rev} in {} ({:.1} s)",
        checkout.display(),
        took.elapsed().as_secs_f64()
    )?;

    let built = match way {
        Way::Nix { mode, attribute } => {
            writeln!(
                log,
                "==> {triple} was built with Nix ({}): nix build .#{}",
                escape_untrusted(mode),
                escape_untrusted(attribute)
            )?;
            let out_link = work.join("result");
            let _ = std::fs::remove_file(&out_link);
            run_logged(&nix_command(&checkout, attribute, &out_link), None, log)?
                .success_or("nix build")?;
            out_link
        }
        Way::Cargo { mode } => {
            let repro = match options.repro {
                Some(path) => {
                    writeln!(log, "==> building with the given repro {}", path.display())?;
                    path.to_owned()
                }
                None => {
                    writeln!(
                        log,
                        "==> building the checkout's own repro (its build flags and environment scrub made the release)"
                    )?;
                    let took = Instant::now();
                    // Its own target dir, whatever CARGO_TARGET_DIR the worker has.
                    let mut cargo: Vec<OsString> = [
                        "cargo",
                        "build",
                        "--locked",
                        "-q",
                        "-p",
                        "repro",
                        "--target-dir",
                    ]
                    .map(OsString::from)
                    .to_vec();
                    cargo.push(checkout.join("target").into());
                    run_logged(&cargo, Some(&checkout), log)?.success_or("cargo build -p repro")?;
                    writeln!(
                        log,
                        "==> built the checkout's repro in {:.1} s",
                        took.elapsed().as_secs_f64()
                    )?;
                    checkout.join("target/debug/repro")
                }
            };
            writeln!(
                log,
                "==> {triple} was built with cargo ({}): repro build --triple {triple}",
                escape_untrusted(mode.as_deref().unwrap_or("no build mode recorded"))
            )?;
            let builds = work.join("builds");
            // A folder of an earlier run in a kept work folder is not this one.
            if builds.exists() {
                std::fs::remove_dir_all(&builds)
                    .with_context(|| format!("{}: cannot empty", builds.display()))?;
            }
            let command = repro_build_command(&repro, &checkout, manifest, triple, &builds);
            let status = run_logged(&command, None, log)?;
            // 1 is `not portable`: the binaries are there, and the worker judges them.
            if !(status.success() || status.code() == Some(1)) {
                status.success_or("repro build")?;
            }
            only_folder(&builds)?
        }
    };
    note_release_identity(&built, manifest, log)?;

    std::fs::create_dir_all(options.out_dir)
        .with_context(|| format!("{}: cannot create", options.out_dir.display()))?;
    let mut rebuilt = Vec::new();
    for artifact in manifest.artifacts.iter().filter(|a| a.target == triple) {
        interrupt::check()?;
        let from = built.join(&artifact.bin_path);
        let to = options.out_dir.join(&artifact.bin);
        std::fs::copy(&from, &to).with_context(|| {
            format!(
                "{}: the rebuild did not produce it, so {} cannot be compared",
                from.display(),
                artifact.bin
            )
        })?;
        let sha256 =
            hashing::sha256_file(&to).map_err(|e| anyhow::anyhow!("{}: {e}", to.display()))?;
        rebuilt.push(Rebuilt {
            bin: artifact.bin.clone(),
            sha256,
            release_sha256: artifact.sha256.clone(),
        });
    }
    Ok(rebuilt)
}

/// Says in the log whether the rebuild's own manifest names the release the
/// input names: the binaries decide, but a different version or commit here
/// means the checkout or the build was not what the release says.
fn note_release_identity(built: &Path, release: &Manifest, log: &mut dyn Write) -> Result<()> {
    let rebuilt = match Manifest::load(built) {
        Ok((_, m)) => m.build,
        Err(e) => {
            writeln!(log, "==> warning: the rebuild's manifest: {e:#}")?;
            return Ok(());
        }
    };
    let shown = |v: &Option<String>| escape_untrusted(v.as_deref().unwrap_or("none"));
    if rebuilt.version == release.build.version && rebuilt.source_rev == release.build.source_rev {
        writeln!(
            log,
            "==> the rebuild's manifest names the same release: version {}, source_rev {}",
            shown(&rebuilt.version),
            shown(&rebuilt.source_rev)
        )?;
    } else {
        writeln!(
            log,
            "==> warning: the rebuild's manifest names version {} at {}, the release {} at {}",
            shown(&rebuilt.version),
            shown(&rebuilt.source_rev),
            shown(&release.build.version),
            shown(&release.build.source_rev)
        )?;
    }
    Ok(())
}

/// Gets exactly `rev` into `checkout`: a shallow fetch of that commit, or a
/// full fetch when the remote refuses to serve a commit by hash.
fn fetch(source: &str, rev: &str, checkout: &Path, log: &mut dyn Write) -> Result<()> {
    std::fs::create_dir_all(checkout)
        .with_context(|| format!("{}: cannot create", checkout.display()))?;
    let git = |args: &[&str]| -> Vec<OsString> {
        let mut command: Vec<OsString> = vec!["git".into(), "-C".into(), checkout.into()];
        command.extend(args.iter().map(OsString::from));
        command
    };
    run_logged(&git(&["init", "-q"]), None, log)?.success_or("git init")?;
    let shallow = run_logged(
        &git(&[
            "fetch",
            "-q",
            "--no-tags",
            "--depth",
            "1",
            "--",
            source,
            rev,
        ]),
        None,
        log,
    )?;
    let wanted = if shallow.success() {
        "FETCH_HEAD"
    } else {
        writeln!(
            log,
            "==> the source would not serve {rev} by hash; fetching all of it"
        )?;
        run_logged(
            &git(&[
                "fetch",
                "-q",
                "--no-tags",
                "--",
                source,
                "+refs/heads/*:refs/remotes/source/*",
                "+refs/tags/*:refs/tags/*",
            ]),
            None,
            log,
        )?
        .success_or("git fetch")?;
        rev
    };
    let verify = run_capture(&git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{wanted}^{{commit}}"),
    ]))?;
    if !verify.0.success() {
        bail!(
            "{}: has no commit {rev}, the release's build.source_rev; point --source (or CAMHUB_REBUILD_SOURCE) at a repository that has it",
            escape_untrusted(source)
        );
    }
    run_logged(
        &git(&["checkout", "-q", "--force", "--detach", wanted]),
        None,
        log,
    )?
    .success_or("git checkout")?;
    // A kept work folder may hold another revision's generated files; its
    // target/ (cargo's cache) stays.
    run_logged(&git(&["clean", "-q", "-ffdx", "-e", "/target/"]), None, log)?
        .success_or("git clean")?;
    let (status, head) = run_capture(&git(&["rev-parse", "HEAD"]))?;
    let head = head.trim();
    if !status.success() || head != rev {
        bail!(
            "the checkout is at `{}`, not at the release's source revision {rev}; the source does not hold the commit the release names",
            escape_untrusted(head)
        );
    }
    Ok(())
}

/// The one folder `repro build` made in `builds`.
fn only_folder(builds: &Path) -> Result<PathBuf> {
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(builds)
        .with_context(|| format!("{}: repro build made no build folder", builds.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            folders.push(path);
        }
    }
    match <[PathBuf; 1]>::try_from(folders) {
        Ok([folder]) => Ok(folder),
        Err(folders) => bail!(
            "{}: expected the one build folder repro build makes, found {}",
            builds.display(),
            folders.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::BuildInfo;

    fn manifest(modes: &[(&str, &str)]) -> Manifest {
        Manifest {
            build: BuildInfo {
                target: "ipcamera".into(),
                profile: "camerahub".into(),
                run_id: "nix".into(),
                timestamp: "t".into(),
                build_modes: modes
                    .iter()
                    .map(|(t, m)| (t.to_string(), m.to_string()))
                    .collect(),
                version: Some("0.2.0".into()),
                source_rev: Some("0".repeat(40)),
            },
            artifacts: Vec::new(),
        }
    }

    const X86: &str = "x86_64-unknown-linux-gnu";
    const ARM: &str = "aarch64-unknown-linux-gnu";

    #[test]
    fn the_way_of_each_triple_is_the_way_it_was_built() {
        let m = manifest(&[
            (X86, "nix-native-x86_64-linux"),
            (ARM, "nix-cross-from-x86_64-linux"),
        ]);
        assert_eq!(
            way(&m, ARM),
            Way::Nix {
                mode: "nix-cross-from-x86_64-linux".into(),
                attribute: "ipcamera-camerahub".into()
            }
        );
        let native = manifest(&[(ARM, "nix-native-aarch64-linux")]);
        assert_eq!(
            way(&native, ARM),
            Way::Nix {
                mode: "nix-native-aarch64-linux".into(),
                attribute: "ipcamera-camerahub-aarch64-native".into()
            }
        );
        assert_eq!(
            way(&manifest(&[(X86, "cargo-native")]), X86),
            Way::Cargo {
                mode: Some("cargo-native".into())
            }
        );
        assert_eq!(way(&manifest(&[]), X86), Way::Cargo { mode: None });
    }

    #[test]
    fn command_lines() {
        let nix = nix_command(
            Path::new("/w/checkout"),
            "ipcamera-camerahub",
            Path::new("/w/result"),
        );
        assert_eq!(
            nix,
            [
                "nix",
                "--extra-experimental-features",
                "nix-command flakes",
                "build",
                "--print-build-logs",
                "--out-link",
                "/w/result",
                "/w/checkout#ipcamera-camerahub"
            ]
            .map(OsString::from)
        );
        let repro = repro_build_command(
            Path::new("/w/checkout/target/debug/repro"),
            Path::new("/w/checkout"),
            &manifest(&[]),
            ARM,
            Path::new("/w/builds"),
        );
        assert_eq!(
            repro,
            [
                "/w/checkout/target/debug/repro",
                "build",
                "--workspace",
                "/w/checkout",
                "--target",
                "ipcamera",
                "--profile",
                "camerahub",
                "--triple",
                ARM,
                "--out",
                "/w/builds",
                "--release-version",
                "0.2.0"
            ]
            .map(OsString::from)
        );
    }
}
