//! camhub-update: installs a binary from a release folder only when its
//! SHA-256 matches both the release's manifest.json and its SHA256SUMS, by an
//! atomic rename, keeping the previous binary as `<path>.old` for rollback.
//! Reading the release (with its hostile-input checks) comes from the `repro`
//! library, the same code that verifies releases.

mod install;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use repro::compare::BuildFolder;
use repro::hashing::{HashError, read_regular, sha256_file};
use repro::style::escape_untrusted;

use crate::install::{Target, shown};
use update::sums::{Listed, listed_sum};

/// Replaces an installed camhub binary with a verified one from a release folder.
///
/// Every step leaves a working binary at --install and a rollback target at
/// <install>.old; work files (.camhub-update-*) sit beside the binary and a
/// run first removes or finishes what an interrupted one left there.
///
/// Exit codes: 0 installed (or already current, or rolled back); 1 refused
/// because a check failed (a hash did not match, or the manifest or
/// SHA256SUMS does not vouch for the binary: no hash for it, two different
/// ones, or the binary missing from the folder); 2 unusable input or error
/// (no SHA256SUMS or manifest.json, a hostile folder, no such binary in the
/// release, a failed write).
#[derive(Debug, Parser)]
#[command(name = "camhub-update", bin_name = "camhub-update", version)]
struct Cli {
    /// The installed binary to replace, e.g. /usr/local/bin/camhub-raspberry.
    ///
    /// If it is a symbolic link, the binary the link points to is replaced
    /// (and kept as <that binary>.old); the link itself is left as it is.
    #[arg(long)]
    install: PathBuf,
    /// The release folder (manifest.json, SHA256SUMS, <triple>/<bin>);
    /// required unless --rollback.
    #[arg(long, required_unless_present = "rollback")]
    release: Option<PathBuf>,
    /// The released binary's name; the file name of --install by default.
    #[arg(long)]
    bin: Option<String>,
    /// The release triple to take; this machine's by default.
    #[arg(long, default_value = HOST_TRIPLE)]
    triple: String,
    /// Swap the installed binary with the one kept at <install>.old.
    #[arg(long, conflicts_with_all = ["release", "bin"])]
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

fn update(cli: &Cli, release: &Path, out: &mut dyn Write) -> Result<()> {
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
    let target = Target::open(&cli.install, out)?;
    if in_manifest == in_sums && sha256_file(&target.path).ok().as_deref() == Some(&in_sums) {
        writeln!(out, "{} is already {bin} {in_sums}", shown(&target.path))?;
        return Ok(());
    }
    // What is installed is what was hashed: the copy beside the binary,
    // hashed while it was written.
    let staged = target.stage(&mut source)?;
    if staged.hash != in_manifest || staged.hash != in_sums {
        return Err(refused(format!(
            "{bin_path} hashes to {}, but the manifest says {in_manifest} and SHA256SUMS says {in_sums}",
            staged.hash
        )));
    }
    let kept = target.install(staged)?;
    writeln!(out, "installed {bin} {in_sums} at {}", shown(&target.path))?;
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
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let result = match (&cli.release, cli.rollback) {
        (_, true) => rollback(&cli.install, &mut out),
        (Some(release), false) => update(&cli, release, &mut out),
        (None, false) => unreachable!("clap requires --release without --rollback"),
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
}
