//! camhub-update: installs a binary from a release folder only when k
//! trusted rebuilderd instances confirm exactly its SHA-256 with signed
//! links and none disagrees, when manifest.json and SHA256SUMS agree on that
//! hash, and when the release is not older than the one installed (unless
//! --rollback). It installs by an atomic rename, keeping the previous binary
//! as `<path>.old`, and records what it installed beside the binary.
//! Reading the release (with its hostile-input checks) and judging the
//! rebuilders' links come from the `repro` library, the same code that
//! verifies releases.

mod install;
mod rebuilders;

use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use repro::compare::BuildFolder;
use repro::hashing::{HashError, read_regular, sha256_bytes, sha256_file};
use repro::manifest::{MANIFEST_FILE, MANIFEST_LIMIT, Manifest};
use repro::rebuilderd::confirm::check_release;
use repro::rebuilderd::input::rebuildable;
use repro::rebuilderd::trust::TrustConfig;
use repro::style::escape_untrusted;

use crate::install::{Target, shown};
use update::state::{self, InstalledRelease};
use update::sums::{Listed, listed_sum};

/// Replaces an installed camhub binary with a verified one from a release folder.
///
/// A binary is installed only when k trusted rebuilderd instances (the
/// --rebuilders file) confirm exactly its SHA-256 with signed in-toto links
/// (the release's attestations), none of them disagrees, manifest.json and
/// SHA256SUMS give the same hash, and the release's version is not older
/// than the installed one. What was installed (version, hash, source
/// revision, who confirmed it) is recorded in <install>.camhub-release.json.
///
/// Every step leaves a working binary at --install and a rollback target at
/// <install>.old; work files (.camhub-update-*) sit beside the binary and a
/// run first removes or finishes what an interrupted one left there.
///
/// Exit codes: 0 installed (or already current, or rolled back); 1 refused
/// because a check failed (fewer than k rebuilders confirm the binary, one
/// disagrees, the release is older than the installed one, has the same
/// version with other bytes, or names no version or source revision, a hash
/// did not match, or the manifest or SHA256SUMS does not
/// vouch for the binary), and nothing was changed; 2 unusable input or error
/// (no SHA256SUMS or manifest.json, a missing or invalid rebuilders file, a
/// hostile folder, no such binary in the release, a failed write).
#[derive(Debug, Parser)]
#[command(name = "camhub-update", bin_name = "camhub-update", version)]
struct Cli {
    /// The installed binary to replace, e.g. /usr/local/bin/camhub-raspberry.
    ///
    /// If it is a symbolic link, the binary the link points to is replaced
    /// (and kept as <that binary>.old); the link itself is left as it is.
    #[arg(long)]
    install: PathBuf,
    /// The release folder (manifest.json, SHA256SUMS, <triple>/<bin>,
    /// attestations/); required unless --rollback.
    #[arg(long, required_unless_present = "rollback")]
    release: Option<PathBuf>,
    /// The released binary's name; the file name of --install by default.
    #[arg(long, requires = "release")]
    bin: Option<String>,
    /// The release triple to take; this machine's by default.
    #[arg(long, default_value = HOST_TRIPLE)]
    triple: String,
    /// The rebuilderd instances this device trusts: a TOML file with `k`
    /// and one [[rebuilder]] (name, key = "ed25519:<hex>") per instance.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/camhub/rebuilders.toml",
        requires = "release"
    )]
    rebuilders: PathBuf,
    /// The folder holding the rebuilders' links (its rebuilderd/ subfolder,
    /// as `repro rebuilderd collect` stores them); <release>/attestations by
    /// default.
    #[arg(long, value_name = "DIR", requires = "release")]
    attestations: Option<PathBuf>,
    /// Without --release: swap the installed binary with the one kept at
    /// <install>.old (no checks; the record of the installed release stays,
    /// and later updates are still compared with it). With --release: allow
    /// a release older than the installed one, still fully verified.
    #[arg(long)]
    rollback: bool,
}

#[cfg(target_arch = "aarch64")]
const HOST_TRIPLE: &str = "aarch64-unknown-linux-gnu";
#[cfg(target_arch = "x86_64")]
const HOST_TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// SHA256SUMS lists a few binaries; anything this large is not one.
const MAX_SUMS_BYTES: u64 = 1 << 20;

/// A verification failure (exit 1), as opposed to unusable input (exit 2).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: {}", self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(why: String) -> anyhow::Error {
    Refused(why).into()
}

/// The hash SHA256SUMS gives for `bin_path`, read as `sha256sum -c` reads it.
fn hash_in_sums(release: &Path, bin_path: &str) -> Result<String> {
    let sums_path = release.join("SHA256SUMS");
    // Without a readable SHA256SUMS nothing was checked, so nothing was
    // refused: the folder is not a complete release (exit 2).
    let sums = match read_regular(&sums_path, MAX_SUMS_BYTES) {
        Ok(sums) => sums,
        Err(HashError::Missing) => bail!(
            "{}: SHA256SUMS is missing; a release folder holds it next to manifest.json. \
             Download it with the release (for a folder you built yourself, `repro sums {}` prints it), then run again",
            shown(&sums_path),
            shown(release)
        ),
        Err(e) => bail!(
            "{}: {e}; a release folder holds SHA256SUMS, a regular file of at most {} KiB, next to manifest.json",
            shown(&sums_path),
            MAX_SUMS_BYTES >> 10
        ),
    };
    match listed_sum(&sums, bin_path) {
        Listed::Hash(hash) => Ok(hash),
        Listed::Absent => Err(refused(format!(
            "{} lists no hash for {bin_path}",
            shown(&sums_path)
        ))),
        Listed::Conflicting(lines) => Err(refused(format!(
            "{} gives {bin_path} different hashes ({}); sha256sum -c fails on it too",
            shown(&sums_path),
            lines
                .iter()
                .map(|(n, hash)| format!("line {n}: {hash}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The release's manifest.json bytes, which the rest of the run judges by:
/// the links' material is rendered from them and the record keeps their
/// hash. BuildFolder read the file first, so these bytes must say the same,
/// or the folder changed under us.
fn manifest_bytes(folder: &BuildFolder) -> Result<Vec<u8>> {
    let path = folder.shown.join(MANIFEST_FILE);
    let bytes = read_regular(&path, MANIFEST_LIMIT).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; a release folder holds manifest.json",
            shown(&path)
        )
    })?;
    let mut manifest = Manifest::parse(&bytes).with_context(|| shown(&path))?;
    manifest.sort_by_key();
    if manifest != folder.manifest {
        bail!(
            "{}: changed while it was read; run again once the release folder is complete",
            shown(&path)
        );
    }
    Ok(bytes)
}

/// The release's version, which devices compare to refuse going backwards.
fn release_version(manifest: &Manifest) -> Result<semver::Version> {
    let Some(text) = manifest.build.version.as_deref() else {
        return Err(refused(
            "the release's manifest.json has no build.version, so there is nothing to compare \
             with the installed release; use a release made by a repro that writes it \
             (repro build, or repro manifest --release-version)"
                .to_owned(),
        ));
    };
    semver::Version::parse(text).map_err(|e| {
        refused(format!(
            "the release's build.version `{}` is not semver ({e}), so there is nothing to \
             compare with the installed release",
            escape_untrusted(text)
        ))
    })
}

fn update(cli: &Cli, release: &Path, out: &mut dyn Write) -> Result<()> {
    // First what decides: a device without a usable trust file installs nothing.
    let trust = TrustConfig::load(&cli.rebuilders).context("--rebuilders")?;
    let bin = match &cli.bin {
        Some(bin) => bin.clone(),
        None => cli
            .install
            .file_name()
            .and_then(|n| n.to_str())
            .context("--install names no file")?
            .to_owned(),
    };
    let folder = BuildFolder::open(release)?;
    let manifest_bytes = manifest_bytes(&folder)?;
    let Some(artifact) = folder
        .manifest
        .artifacts
        .iter()
        .find(|a| a.bin == bin && a.target == cli.triple)
    else {
        let offered: Vec<&str> = folder
            .manifest
            .artifacts
            .iter()
            .filter(|a| a.target == cli.triple)
            .map(|a| a.bin.as_str())
            .collect();
        bail!(
            "{}: the release has no `{bin}` for {}; it offers: {}. Pass --bin to pick one",
            shown(release),
            cli.triple,
            if offered.is_empty() {
                "nothing for this triple".into()
            } else {
                offered.join(", ")
            }
        );
    };
    let bin_path = &artifact.bin_path;
    // Opened once, beneath the release folder: what is installed is what
    // this handle reads.
    let mut source = match folder.open_artifact(artifact) {
        Ok((file, _)) => file,
        Err(HashError::Missing) => {
            return Err(refused(format!(
                "{}: {bin_path} is missing",
                shown(release)
            )));
        }
        Err(e) if e.is_unsafe_path() => return Err(folder.unsafe_path(artifact, &e)),
        Err(e) => bail!("{}: {bin_path}: {e}", shown(release)),
    };
    let Some(in_manifest) = artifact.sha256.as_deref().map(str::to_ascii_lowercase) else {
        return Err(refused(format!(
            "the manifest records no sha256 for {bin_path}"
        )));
    };
    let in_sums = hash_in_sums(release, bin_path)?;
    let version = release_version(&folder.manifest)?;
    // Without a source revision no rebuilder can have rebuilt it.
    rebuildable(&folder.manifest, &cli.triple).map_err(|e| refused(format!("{e:#}")))?;
    let source_rev = folder.manifest.build.source_rev.clone().unwrap_or_default();
    let attestations = cli
        .attestations
        .clone()
        .unwrap_or_else(|| release.join("attestations"));

    let target = Target::open(&cli.install, out)?;
    // Read under the folder's lock: no other run changes it until we are done.
    let recorded = InstalledRelease::load(&target.state)?;
    // Its exact bytes, put back if the binary cannot be renamed after all.
    let previous = match read_regular(&target.state, state::STATE_LIMIT) {
        Ok(bytes) => Some(bytes),
        Err(HashError::Missing) => None,
        Err(e) => bail!("{}: {e}", shown(&target.state)),
    };
    // What is installed is what was hashed and judged: the copy beside the
    // binary, hashed while it was written.
    let staged = target.stage(&mut source)?;
    if staged.hash != in_manifest || staged.hash != in_sums {
        return Err(refused(format!(
            "{bin_path} hashes to {}, but the manifest says {in_manifest} and SHA256SUMS says {in_sums}",
            staged.hash
        )));
    }
    let report = {
        let snapshot = target.snapshot(&manifest_bytes, bin_path, &staged)?;
        check_release(
            &snapshot.path,
            &attestations,
            &trust,
            Some((&cli.triple, &bin)),
        )
        .with_context(|| format!("checking the rebuilders' links in {}", shown(&attestations)))?
    };
    // The library names an artifact `<triple>/<bin>`, whatever its bin_path
    // (Secluso's layout nests it deeper).
    let judged = format!("{}/{bin}", cli.triple);
    let Some(agreement) = report.artifacts.iter().find(|a| a.name == judged) else {
        bail!(
            "the rebuilders' links were judged for other binaries than {judged}; this is a bug in camhub-update"
        );
    };
    if let Some(why) = rebuilders::why_not(agreement, &report.links, &attestations, trust.k) {
        return Err(refused(why));
    }
    if agreement.sha256 != staged.hash {
        return Err(refused(format!(
            "the rebuilders confirmed {bin_path} as {}, but the copy made to install hashes to {}",
            agreement.sha256, staged.hash
        )));
    }

    let mut older_allowed = None;
    if let Some(recorded) = &recorded {
        match recorded.compare(&version) {
            Ordering::Equal if recorded.sha256 == staged.hash => {
                if sha256_file(&target.path).ok().as_deref() == Some(&staged.hash) {
                    writeln!(
                        out,
                        "{} is already {bin} {version} {}",
                        shown(&target.path),
                        staged.hash
                    )?;
                    return Ok(());
                }
                // The recorded release, not what runs (a --rollback swap, or
                // a kill between recording and renaming): install it again.
            }
            Ordering::Equal if !cli.rollback => {
                return Err(refused(format!(
                    "the release is {bin} {version}, the version recorded as installed in {}, but with other bytes \
                     ({} instead of {}); one version is one build. Pass --rollback to install it anyway",
                    shown(&target.state),
                    staged.hash,
                    recorded.sha256
                )));
            }
            Ordering::Less if !cli.rollback => {
                return Err(refused(format!(
                    "the release is {bin} {version}, older than {} recorded as installed in {}; \
                     going backwards needs --rollback",
                    escape_untrusted(&recorded.version),
                    shown(&target.state)
                )));
            }
            Ordering::Less => older_allowed = Some(recorded.version.clone()),
            Ordering::Equal | Ordering::Greater => {}
        }
    }

    let record = InstalledRelease {
        schema: state::SCHEMA.to_owned(),
        bin: bin.clone(),
        triple: cli.triple.clone(),
        bin_path: bin_path.clone(),
        version: version.to_string(),
        sha256: staged.hash.clone(),
        source_rev,
        manifest_sha256: sha256_bytes(&manifest_bytes),
        k: trust.k,
        confirmed_by: agreement.agreed.clone(),
    };
    // The record goes first, then the binary. A kill between the two leaves
    // the old binary (working) under a record of the new release: a later
    // run then refuses anything older than the new release and installs the
    // new one again. The other order could leave the new binary under the
    // old record, and a later run would take the old release back as "not
    // older". If the binary cannot be renamed, the old record is put back.
    target.record(&record.to_bytes())?;
    let sha = staged.hash.clone();
    let kept = match target.install(staged) {
        Ok(kept) => kept,
        Err(e) => {
            target.restore_record(previous.as_deref());
            return Err(e);
        }
    };
    if kept {
        // Installed and recorded: a failure from here on is only about .old.
        target.keep_displaced()?;
    }
    writeln!(
        out,
        "installed {bin} {version} {sha} at {}, confirmed by {} (k = {})",
        shown(&target.path),
        escape_untrusted(&agreement.agreed.join(", ")),
        trust.k
    )?;
    if let Some(newer) = older_allowed {
        writeln!(
            out,
            "it is older than {} installed before: allowed by --rollback",
            escape_untrusted(&newer)
        )?;
    }
    writeln!(out, "recorded in {}", shown(&target.state))?;
    if kept {
        writeln!(out, "the previous binary is kept at {}", shown(&target.old))?;
    }
    Ok(())
}

fn rollback(install: &Path, out: &mut dyn Write) -> Result<()> {
    let target = Target::open(install, out)?;
    target.rollback()?;
    writeln!(
        out,
        "rolled back {}; the replaced binary is kept at {}",
        shown(&target.path),
        shown(&target.old)
    )?;
    // The swap is the operator's own step and leaves the record alone: it
    // stays the floor that releases are compared with.
    if let Ok(Some(recorded)) = InstalledRelease::load(&target.state) {
        writeln!(
            out,
            "{} still records {} {}: later updates are compared with that version",
            shown(&target.state),
            escape_untrusted(&recorded.bin),
            escape_untrusted(&recorded.version)
        )?;
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let result = match &cli.release {
        Some(release) => update(&cli, release, &mut out),
        None => rollback(&cli.install, &mut out),
    };
    match result {
        Ok(()) => {}
        // A closed pipe (`camhub-update ... | head`) is the reader's choice.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {}
        Err(e) => {
            eprintln!("camhub-update: {}", escape_untrusted(&format!("{e:#}")));
            std::process::exit(if e.is::<Refused>() { 1 } else { 2 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn rollback_alone_swaps_and_with_a_release_allows_an_older_one() {
        let swap = Cli::try_parse_from(["camhub-update", "--rollback", "--install", "b"]).unwrap();
        assert!(swap.rollback && swap.release.is_none());
        let older = Cli::try_parse_from([
            "camhub-update",
            "--rollback",
            "--release",
            "r",
            "--install",
            "b",
        ])
        .unwrap();
        assert!(older.rollback && older.release.is_some());
        for needs_release in [
            ["--bin", "x"],
            ["--rebuilders", "f"],
            ["--attestations", "d"],
        ] {
            let mut args = vec!["camhub-update", "--rollback", "--install", "b"];
            args.extend(needs_release);
            assert!(Cli::try_parse_from(&args).is_err(), "{args:?}");
        }
        assert!(Cli::try_parse_from(["camhub-update", "--install", "b"]).is_err());
    }
}
