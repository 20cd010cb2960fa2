//! camhub-update: installs a binary from a release folder only when its
//! SHA-256 matches both the release's manifest.json and its SHA256SUMS, by an
//! atomic rename, keeping the previous binary as `<path>.old` for rollback.
//! Reading the release (with its hostile-input checks) and hashing come from
//! the `repro` library, the same code that verifies releases.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use repro::compare::BuildFolder;
use repro::hashing::sha256_file;
use repro::layout::Located;

/// Replaces an installed camhub binary with a verified one from a release folder.
///
/// Exit codes: 0 installed (or already current, or rolled back), 1 refused
/// because a hash did not match, 2 unusable input or error.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The installed binary to replace, e.g. /usr/local/bin/camhub-raspberry.
    #[arg(long)]
    install: PathBuf,
    /// The release folder (manifest.json, SHA256SUMS, <triple>/<bin>).
    #[arg(long, required_unless_present = "rollback")]
    release: Option<PathBuf>,
    /// The released binary's name; the installed file's name by default.
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

/// A verification failure (exit 1), as opposed to unusable input (exit 2).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: {}", self.0)
    }
}

impl std::error::Error for Refused {}

fn old_path(install: &Path) -> PathBuf {
    let mut name = install.as_os_str().to_owned();
    name.push(".old");
    PathBuf::from(name)
}

/// The hash SHA256SUMS lists for `bin_path` (`<hex>  <path>` or `<hex> *<path>`).
fn listed_sum(sums: &str, bin_path: &str) -> Option<String> {
    sums.lines().find_map(|line| {
        let (hex, path) = line.split_once(' ')?;
        let path = path.strip_prefix(' ').or_else(|| path.strip_prefix('*'))?;
        (path == bin_path).then(|| hex.to_ascii_lowercase())
    })
}

/// Makes `link` a hard link to `target`, atomically replacing what was there.
fn replace_with_link(target: &Path, link: &Path) -> Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".camhub-update-")
        .tempdir_in(dir)?;
    let staged = tmp.path().join("link");
    fs::hard_link(target, &staged)
        .with_context(|| format!("{}: cannot keep a copy", target.display()))?;
    fs::rename(&staged, link).with_context(|| format!("{}: cannot write", link.display()))?;
    Ok(())
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
    let Some((artifact, located)) = folder
        .artifacts
        .values()
        .find(|(a, _)| a.bin == bin && a.target == cli.triple)
    else {
        let offered: Vec<&str> = folder
            .artifacts
            .values()
            .filter(|(a, _)| a.target == cli.triple)
            .map(|(a, _)| a.bin.as_str())
            .collect();
        bail!(
            "{}: the release has no `{bin}` for {}; it offers: {}. Pass --bin to pick one",
            release.display(),
            cli.triple,
            if offered.is_empty() {
                "nothing for this triple".into()
            } else {
                offered.join(", ")
            }
        );
    };
    let Located::Found(file) = located else {
        return Err(Refused(format!(
            "{}: {} is missing",
            release.display(),
            artifact.bin_path
        ))
        .into());
    };
    let Some(in_manifest) = artifact.sha256.as_deref().map(str::to_ascii_lowercase) else {
        return Err(Refused(format!(
            "the manifest records no sha256 for {}",
            artifact.bin_path
        ))
        .into());
    };
    let sums_path = release.join("SHA256SUMS");
    let sums = fs::read_to_string(&sums_path).map_err(|e| {
        Refused(format!(
            "{}: {e}; a release must ship SHA256SUMS (repro sums)",
            sums_path.display()
        ))
    })?;
    let Some(in_sums) = listed_sum(&sums, &artifact.bin_path) else {
        return Err(Refused(format!(
            "{} lists no hash for {}",
            sums_path.display(),
            artifact.bin_path
        ))
        .into());
    };
    let actual = sha256_file(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if actual != in_manifest || actual != in_sums {
        return Err(Refused(format!(
            "{} hashes to {actual}, but the manifest says {in_manifest} and SHA256SUMS says {in_sums}",
            artifact.bin_path
        ))
        .into());
    }
    if sha256_file(&cli.install).ok().as_deref() == Some(actual.as_str()) {
        writeln!(out, "{} is already {bin} {actual}", cli.install.display())?;
        return Ok(());
    }

    // Stage the new binary beside the installed one, so the final rename is
    // atomic (same filesystem) and an interrupted update leaves the old one.
    let dir = cli
        .install
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut staged = tempfile::Builder::new()
        .prefix(".camhub-update-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot write here", dir.display()))?;
    let mut source = fs::File::open(file)?;
    std::io::copy(&mut source, staged.as_file_mut())?;
    staged
        .as_file()
        .set_permissions(fs::Permissions::from_mode(0o755))?;
    staged.as_file().sync_all()?;
    // The staged copy is what gets installed: check it, not just the source.
    let staged_hash = sha256_file(staged.path()).map_err(|e| anyhow::anyhow!("{e}"))?;
    if staged_hash != actual {
        return Err(Refused(format!("{} changed while being copied", artifact.bin_path)).into());
    }
    let kept = cli.install.exists();
    if kept {
        replace_with_link(&cli.install, &old_path(&cli.install))?;
    }
    staged
        .persist(&cli.install)
        .map_err(|e| e.error)
        .with_context(|| format!("{}: cannot install", cli.install.display()))?;
    writeln!(out, "installed {bin} {actual} at {}", cli.install.display())?;
    if kept {
        writeln!(
            out,
            "the previous binary is kept at {}",
            old_path(&cli.install).display()
        )?;
    }
    Ok(())
}

fn rollback(install: &Path, out: &mut dyn Write) -> Result<()> {
    let old = old_path(install);
    if !old.exists() {
        bail!("{}: nothing to roll back to", old.display());
    }
    // Swap, so a second rollback undoes the first.
    let dir = install
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".camhub-update-")
        .tempdir_in(dir)?;
    let current = tmp.path().join("current");
    fs::hard_link(install, &current)?;
    fs::rename(&old, install)?;
    fs::rename(&current, &old)?;
    writeln!(
        out,
        "rolled back {}; the replaced binary is kept at {}",
        install.display(),
        old.display()
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
    if let Err(e) = result {
        eprintln!("camhub-update: {e:#}");
        std::process::exit(if e.is::<Refused>() { 1 } else { 2 });
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
    fn reads_both_sha256sum_line_forms() {
        let sums = "AB  x/a\ncd *x/b\nef  x/bb\n";
        assert_eq!(listed_sum(sums, "x/a").as_deref(), Some("ab"));
        assert_eq!(listed_sum(sums, "x/b").as_deref(), Some("cd"));
        assert_eq!(listed_sum(sums, "x/c"), None);
    }
}
