//! `repro manifest DIR`: describes a build folder laid out as
//! `<triple>/<bin>` in the manifest schema, from the release matrix (which
//! package, triple and binary each file is), the workspace (crate versions,
//! Cargo.lock) and the toolchain identity given by the caller.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

use crate::hashing;
use crate::manifest::{Artifact, BuildInfo, Manifest};
use crate::matrix::{Plan, Workspace};

/// Everything a manifest records besides what is read from the folder.
pub struct BuildDescription<'a> {
    pub plan: &'a Plan,
    /// Triple → the identity of the toolchain that built that triple's
    /// artifacts; every planned triple must have one.
    pub rust_digests: BTreeMap<String, String>,
    pub run_id: &'a str,
    /// Triple → how it was built; every key must be one of the plan's triples.
    pub build_modes: BTreeMap<String, String>,
    /// The build's time in seconds since 1970 (`repro build`: the last
    /// commit's); None takes SOURCE_DATE_EPOCH from the environment, or now.
    pub source_date_epoch: Option<&'a str>,
    /// The release's version (semver); see [`release_version`].
    pub version: Option<String>,
    /// The git commit the sources are (40 or 64 lowercase hex); None when
    /// nobody could check them out again.
    pub source_rev: Option<String>,
}

/// Builds the manifest for `dir`, hashing each planned file. Every planned
/// file must be present as a regular file: a manifest never describes a
/// build that did not happen.
pub fn describe(workspace: &Workspace, dir: &Path, build: &BuildDescription) -> Result<Manifest> {
    for triple in &build.plan.triples {
        match build.rust_digests.get(triple) {
            Some(digest) if !digest.trim().is_empty() => {}
            _ => bail!(
                "no toolchain digest for {triple}; pass --rust-digest DIGEST, or --rust-digest {triple}=DIGEST for the toolchain that built it"
            ),
        }
    }
    only_planned_triples(build.plan, "toolchain digest", build.rust_digests.keys())?;
    only_planned_triples(build.plan, "build mode", build.build_modes.keys())?;
    if let Some(version) = &build.version {
        check_version(version)?;
    }
    if let Some(rev) = &build.source_rev {
        check_source_rev(rev)?;
    }
    let lock_path = workspace.lock_path();
    let lock_sha = hashing::sha256_file(&lock_path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; commit the workspace's Cargo.lock",
            lock_path.display()
        )
    })?;

    let mut artifacts = Vec::new();
    let mut paths = Vec::new();
    for planned in &build.plan.artifacts {
        let version = workspace.crate_version(&planned.crate_name, &planned.package)?;
        let path = dir.join(planned.bin_path());
        let meta = std::fs::symlink_metadata(&path).with_context(|| {
            // A triple missing altogether is what `repro build --skip-missing-targets` leaves.
            let only_some = if dir.join(&planned.triple).exists() {
                String::new()
            } else {
                format!(
                    "; the folder has no {}/ at all: to describe only the triples it holds, pass --triple for each",
                    planned.triple
                )
            };
            format!(
                "{}: the binary of `{}` for {} is not there; build it first, or choose a target and profile that do not ship it{only_some}",
                path.display(),
                planned.package,
                planned.triple
            )
        })?;
        if !meta.file_type().is_file() {
            bail!(
                "{}: not a regular file; copy the binary itself into the build folder (symlinks would make the folder depend on where they point)",
                path.display()
            );
        }
        paths.push(path);
        artifacts.push(Artifact {
            package: planned.package.clone(),
            target: planned.triple.clone(),
            bin: planned.bin.clone(),
            bin_path: planned.bin_path(),
            sha256: None,
            crate_name: planned.crate_name.clone(),
            version: version.to_owned(),
            crate_lock_sha256: lock_sha.clone(),
            rust_digest: build.rust_digests[&planned.triple].clone(),
        });
    }
    for ((artifact, path), hash) in artifacts
        .iter_mut()
        .zip(&paths)
        .zip(hashing::sha256_files(&paths, hashing::default_threads()))
    {
        artifact.sha256 = Some(hash.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?);
    }

    let mut manifest = Manifest {
        build: BuildInfo {
            target: build.plan.target.clone(),
            profile: build.plan.profile.clone(),
            run_id: build.run_id.to_owned(),
            timestamp: match build.source_date_epoch {
                Some(epoch) => timestamp_from_epoch(epoch)?,
                None => build_timestamp()?,
            },
            build_modes: build.build_modes.clone(),
            version: build.version.clone(),
            source_rev: build.source_rev.clone(),
        },
        artifacts,
    };
    manifest.sort_artifacts();
    Ok(manifest)
}

/// The release version to record: `given` (--release-version) when there is
/// one, else the workspace's `[workspace.package] version`, which every
/// member inherits; None when neither exists.
pub fn release_version(workspace: &Workspace, given: Option<&str>) -> Result<Option<String>> {
    if let Some(given) = given {
        check_version(given).context("--release-version")?;
        return Ok(Some(given.to_owned()));
    }
    let path = &workspace.manifest_path;
    let bytes = hashing::read_regular(path, CARGO_TOML_LIMIT)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let text =
        std::str::from_utf8(&bytes).with_context(|| format!("{}: not UTF-8", path.display()))?;
    let toml: toml::Table =
        toml::from_str(text).with_context(|| format!("{}: not TOML", path.display()))?;
    let version = toml
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"));
    match version {
        None => Ok(None),
        Some(toml::Value::String(v)) => {
            check_version(v)
                .with_context(|| format!("{}: [workspace.package] version", path.display()))?;
            Ok(Some(v.clone()))
        }
        Some(_) => bail!(
            "{}: [workspace.package] version is not a string; write it as version = \"1.2.3\"",
            path.display()
        ),
    }
}

/// A Cargo.toml larger than this is not a workspace's.
const CARGO_TOML_LIMIT: u64 = 4 << 20;

/// Refuses a release version that is not semver (what cargo accepts as a
/// package version), since devices order releases by it.
pub fn check_version(version: &str) -> Result<()> {
    semver::Version::parse(version).map_err(|e| {
        anyhow::anyhow!(
            "`{}` is not a semantic version ({e}); give one like 1.2.3 or 1.2.3-rc.1",
            crate::style::escape_untrusted(version)
        )
    })?;
    Ok(())
}

/// Refuses a source revision that is not a full git commit hash: a branch
/// or an abbreviation would name different sources as the repository moves.
pub fn check_source_rev(rev: &str) -> Result<()> {
    if !crate::rebuilderd::input::is_commit_hash(rev) {
        bail!(
            "source revision `{}` is not a full git commit hash (40 or 64 lowercase hex); give `git rev-parse HEAD` of a clean checkout",
            crate::style::escape_untrusted(rev)
        );
    }
    Ok(())
}

/// Refuses a per-triple value (`what`) given for a triple the plan does not build.
fn only_planned_triples<'a>(
    plan: &Plan,
    what: &str,
    triples: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    for triple in triples {
        if !plan.triples.contains(triple) {
            bail!(
                "{what} given for `{triple}`, which {}-{} does not build (its triples: {})",
                plan.target,
                plan.profile,
                plan.triples.join(", ")
            );
        }
    }
    Ok(())
}

/// The build's time as `YYYY-MM-DDTHH:MM:SSZ`: SOURCE_DATE_EPOCH when set (so
/// the manifest itself is reproducible), otherwise now.
pub fn build_timestamp() -> Result<String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => timestamp_from_epoch(&value),
        Err(std::env::VarError::NotPresent) => {
            Ok(humantime::format_rfc3339_seconds(SystemTime::now()).to_string())
        }
        Err(std::env::VarError::NotUnicode(_)) => bail!("SOURCE_DATE_EPOCH is not valid text"),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a SOURCE_DATE_EPOCH value.
pub fn timestamp_from_epoch(value: &str) -> Result<String> {
    let secs: u64 = value.trim().parse().with_context(|| {
        format!(
            "SOURCE_DATE_EPOCH=`{value}` is not a whole number of seconds since 1970; set it to e.g. the last commit's time (git log -1 --format=%ct)"
        )
    })?;
    // humantime panics on years past 9999 (and the addition on overflow).
    const LAST_SECOND_OF_9999: u64 = 253_402_300_799;
    if secs > LAST_SECOND_OF_9999 {
        bail!(
            "SOURCE_DATE_EPOCH=`{value}` is after 9999-12-31T23:59:59Z ({LAST_SECOND_OF_9999}), which a manifest timestamp cannot hold; set it to e.g. the last commit's time (git log -1 --format=%ct)"
        );
    }
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    Ok(humantime::format_rfc3339_seconds(time).to_string())
}
