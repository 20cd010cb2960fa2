//! `repro compare A B`: Secluso's `compare_runs`, made safe against hostile
//! folders. The result is a [`Report`]; the human lines and `--json` are two
//! renderings of it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::hashing::{self, HashError};
use crate::layout::{self, Located};
use crate::manifest::{Artifact, Manifest};
use crate::style::Style;

/// A build folder, loaded and with every artifact's file located.
pub struct BuildFolder {
    /// As the user named it, for messages.
    pub shown: PathBuf,
    /// Canonical, for containment checks.
    pub root: PathBuf,
    pub manifest: Manifest,
    /// Artifact key → (artifact, where its file is).
    pub artifacts: BTreeMap<String, (Artifact, Located)>,
}

impl BuildFolder {
    /// Loads `dir/manifest.json` and checks every `bin_path`. Any error means
    /// the folder is unusable input.
    pub fn open(dir: &Path) -> Result<BuildFolder> {
        let (manifest_path, manifest) = Manifest::load(dir)?;
        let root = dir
            .canonicalize()
            .with_context(|| format!("{}: cannot resolve the folder", dir.display()))?;
        let mut artifacts = BTreeMap::new();
        for artifact in &manifest.artifacts {
            let located = layout::locate(&root, artifact).map_err(|why| {
                anyhow::anyhow!(
                    "{}: artifact `{}`: unsafe bin_path: {why}",
                    manifest_path.display(),
                    artifact.key()
                )
            })?;
            artifacts.insert(artifact.key(), (artifact.clone(), located));
        }
        Ok(BuildFolder {
            shown: dir.to_owned(),
            root,
            manifest,
            artifacts,
        })
    }

    /// Every artifact in the manifest's canonical order with the SHA-256 of its
    /// file, hashed now, or why it has none: `<bin_path>: <reason>` for a
    /// missing or unreadable file or one that contradicts its own manifest.
    pub fn hash_artifacts(&self, threads: usize) -> Vec<(Artifact, Result<String, String>)> {
        let mut manifest = self.manifest.clone();
        manifest.sort_artifacts();
        let paths: Vec<PathBuf> = manifest
            .artifacts
            .iter()
            .filter_map(|a| match &self.artifacts[&a.key()].1 {
                Located::Found(path) => Some(path.clone()),
                Located::Missing => None,
            })
            .collect();
        let mut hashes = hashing::sha256_files(&paths, threads).into_iter();
        manifest
            .artifacts
            .into_iter()
            .map(|artifact| {
                let hash = match &self.artifacts[&artifact.key()].1 {
                    Located::Missing => Err(HashError::Missing),
                    Located::Found(_) => hashes.next().expect("one hash per found file"),
                };
                let checked = match hash {
                    Err(e) => Err(format!("{}: {e}", artifact.bin_path)),
                    Ok(actual) => match artifact.recorded_mismatch(&actual) {
                        Some(why) => Err(format!("{}: {why}", artifact.bin_path)),
                        None => Ok(actual),
                    },
                };
                (artifact, checked)
            })
            .collect()
    }

    /// Files in the folder that its manifest does not describe.
    pub fn undescribed_files(&self) -> Vec<String> {
        layout::undescribed_files(
            &self.root,
            self.manifest.artifacts.iter().map(|a| a.bin_path.as_str()),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Same build inputs, same bytes.
    Ok,
    /// Both sides are sound but differ: a build input or the binary itself.
    Diff,
    /// A side is broken: a missing or unreadable file, or a manifest hash that
    /// does not match its own file.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub field: String,
    pub a: String,
    pub b: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactResult {
    pub key: String,
    pub package: String,
    pub target: String,
    pub bin: String,
    pub status: Status,
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub version: String,
    /// The SHA-256 computed now from each side's file, when it could be.
    pub a_sha256: Option<String>,
    pub b_sha256: Option<String>,
    /// Build inputs and hashes that differ.
    pub diffs: Vec<FieldDiff>,
    /// Why a side could not be checked.
    pub failures: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideSummary {
    pub dir: String,
    pub artifacts: usize,
    /// Files present in the folder but not described by its manifest.
    pub undescribed_files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub a: SideSummary,
    pub b: SideSummary,
    /// Which side had fewer artifacts, and so must be a subset of the other.
    pub smaller: String,
    /// Keys of the smaller side that the larger lacks (each a failure).
    pub missing: Vec<String>,
    /// Keys only the larger side has (information, not failure).
    pub extras: Vec<String>,
    pub results: Vec<ArtifactResult>,
    pub passed: bool,
}

impl Report {
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }
}

/// Compares two build folders. Errors mean unusable input (exit 2); a report
/// that did not pass means not reproducible (exit 1).
pub fn compare(a_dir: &Path, b_dir: &Path, threads: usize) -> Result<Report> {
    let a = BuildFolder::open(a_dir)?;
    let b = BuildFolder::open(b_dir)?;
    if a.root == b.root {
        bail!(
            "{} and {} are the same folder ({}); a folder always matches itself, so pass two different build folders",
            a_dir.display(),
            b_dir.display(),
            a.root.display()
        );
    }

    let a_keys: BTreeSet<&String> = a.artifacts.keys().collect();
    let b_keys: BTreeSet<&String> = b.artifacts.keys().collect();
    let (small, large, smaller) = if a_keys.len() <= b_keys.len() {
        (&a_keys, &b_keys, "A")
    } else {
        (&b_keys, &a_keys, "B")
    };
    let missing: Vec<String> = small.difference(large).map(|k| (*k).clone()).collect();
    let extras: Vec<String> = large.difference(small).map(|k| (*k).clone()).collect();
    let common: Vec<&String> = small.intersection(large).copied().collect();

    // Build inputs first: when they differ, the binaries are expected to differ
    // and hashing them would add noise, not information.
    let mut results = Vec::new();
    let mut to_hash: Vec<PathBuf> = Vec::new();
    let mut pending = Vec::new();
    for key in common {
        let (art_a, loc_a) = &a.artifacts[key];
        let (art_b, loc_b) = &b.artifacts[key];
        let mut result = ArtifactResult {
            key: key.clone(),
            package: art_a.package.clone(),
            target: art_a.target.clone(),
            bin: art_a.bin.clone(),
            status: Status::Ok,
            crate_name: art_a.crate_name.clone(),
            version: art_a.version.clone(),
            a_sha256: None,
            b_sha256: None,
            diffs: input_diffs(&a.manifest, art_a, &b.manifest, art_b),
            failures: Vec::new(),
        };
        if !result.diffs.is_empty() {
            result.status = Status::Diff;
            results.push(result);
            continue;
        }
        let mut slot =
            |side: &str, art: &Artifact, located: &Located, result: &mut ArtifactResult| {
                match located {
                    Located::Found(path) => {
                        to_hash.push(path.clone());
                        Some(to_hash.len() - 1)
                    }
                    Located::Missing => {
                        let e = HashError::Missing;
                        result
                            .failures
                            .push(format!("{side} {}: {e}", art.bin_path));
                        None
                    }
                }
            };
        let ia = slot("A", art_a, loc_a, &mut result);
        let ib = slot("B", art_b, loc_b, &mut result);
        pending.push((result, ia, ib, art_a, art_b));
    }

    // One pool over both sides' files: A and B are hashed concurrently.
    let hashes = hashing::sha256_files(&to_hash, threads);
    for (mut result, ia, ib, art_a, art_b) in pending {
        let mut failures = Vec::new();
        for (side, index, art, into) in [
            ("A", ia, art_a, &mut result.a_sha256),
            ("B", ib, art_b, &mut result.b_sha256),
        ] {
            let Some(index) = index else { continue };
            match &hashes[index] {
                Ok(actual) => {
                    if let Some(why) = art.recorded_mismatch(actual) {
                        failures.push(format!("{side} {}: {why}", art.bin_path));
                    }
                    *into = Some(actual.clone());
                }
                Err(e) => failures.push(format!("{side} {}: {e}", art.bin_path)),
            }
        }
        result.failures.extend(failures);
        if !result.failures.is_empty() {
            result.status = Status::Fail;
        } else if result.a_sha256 != result.b_sha256 {
            result.status = Status::Diff;
            result.diffs.push(FieldDiff {
                field: "sha256".into(),
                a: result.a_sha256.clone().unwrap_or_default(),
                b: result.b_sha256.clone().unwrap_or_default(),
            });
        }
        results.push(result);
    }
    results.sort_by(|x, y| x.key.cmp(&y.key));

    let passed =
        missing.is_empty() && !results.is_empty() && results.iter().all(|r| r.status == Status::Ok);
    let summary = |f: &BuildFolder| SideSummary {
        dir: f.shown.display().to_string(),
        artifacts: f.artifacts.len(),
        undescribed_files: f.undescribed_files(),
    };
    Ok(Report {
        a: summary(&a),
        b: summary(&b),
        smaller: smaller.into(),
        missing,
        extras,
        results,
        passed,
    })
}

/// The build inputs both manifests record for an artifact, and how they differ.
fn input_diffs(ma: &Manifest, a: &Artifact, mb: &Manifest, b: &Artifact) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    let mut check = |field: &str, x: &str, y: &str, empty_differs: bool| {
        if x != y || (empty_differs && x.is_empty()) {
            let shown = |v: &str| {
                if v.is_empty() {
                    "<none>".to_owned()
                } else {
                    v.to_owned()
                }
            };
            diffs.push(FieldDiff {
                field: field.into(),
                a: shown(x),
                b: shown(y),
            });
        }
    };
    check("crate", &a.crate_name, &b.crate_name, false);
    check("version", &a.version, &b.version, false);
    // An empty lock or toolchain digest proves nothing, so it never matches.
    check(
        "crate_lock_sha256",
        &a.crate_lock_sha256,
        &b.crate_lock_sha256,
        true,
    );
    check("rust_digest", &a.rust_digest, &b.rust_digest, true);
    // Recorded by our builds only: a cross-compiled and a native binary come
    // from different derivations, so say so instead of reporting a hash surprise.
    if let (Some(x), Some(y)) = (
        ma.build.build_modes.get(&a.target),
        mb.build.build_modes.get(&b.target),
    ) {
        check("build_mode", x, y, false);
    }
    diffs
}

/// The human rendering: Secluso's line formats, plus the reasons.
pub fn render(report: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "A: {} ({} artifacts)",
        report.a.dir, report.a.artifacts
    )?;
    writeln!(
        out,
        "B: {} ({} artifacts)",
        report.b.dir, report.b.artifacts
    )?;
    let larger = if report.smaller == "A" { "B" } else { "A" };
    if !report.missing.is_empty() {
        writeln!(
            out,
            "{} {} does not contain all artifacts of {}:",
            style.fail("FAIL:"),
            larger,
            report.smaller
        )?;
        for key in &report.missing {
            writeln!(out, "  - {key}")?;
        }
    }
    if report.results.is_empty() {
        writeln!(
            out,
            "{} nothing to compare: no artifact is in both manifests",
            style.fail("FAIL:")
        )?;
    }
    for r in &report.results {
        match r.status {
            Status::Ok => writeln!(
                out,
                "{} {} (crate={} v{}, sha={})",
                style.ok("OK   :"),
                r.key,
                r.crate_name,
                r.version,
                r.a_sha256.as_deref().unwrap_or_default()
            )?,
            Status::Diff => {
                for d in &r.diffs {
                    let what = match d.field.as_str() {
                        "sha256" => "binary hash",
                        "crate_lock_sha256" => "Cargo.lock SHA",
                        "rust_digest" => "toolchain digest",
                        "build_mode" => "build mode",
                        other => other,
                    };
                    writeln!(
                        out,
                        "{} {what} mismatch for {}:",
                        style.diff("DIFF:"),
                        r.key
                    )?;
                    writeln!(out, "  A: {}", d.a)?;
                    writeln!(out, "  B: {}", d.b)?;
                }
                if r.diffs.iter().any(|d| d.field != "sha256") {
                    writeln!(out, "  (binaries not compared: their build inputs differ)")?;
                }
            }
            Status::Fail => {
                writeln!(out, "{} cannot check {}:", style.fail("FAIL:"), r.key)?;
                for f in &r.failures {
                    writeln!(out, "  {f}")?;
                }
            }
        }
    }
    if !report.extras.is_empty() {
        writeln!(
            out,
            "{} Extra artifacts present only in {larger}:",
            style.info("INFO :")
        )?;
        for key in &report.extras {
            writeln!(out, "  - {key}")?;
        }
    }
    for (side, summary) in [("A", &report.a), ("B", &report.b)] {
        if !summary.undescribed_files.is_empty() {
            writeln!(
                out,
                "{} files in {side} that its manifest does not describe (not checked):",
                style.info("INFO :")
            )?;
            for file in &summary.undescribed_files {
                writeln!(out, "  - {file}")?;
            }
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} OK, {} DIFF, {} FAIL, {} missing, {} extra",
        report.count(Status::Ok),
        report.count(Status::Diff),
        report.count(Status::Fail),
        report.missing.len(),
        report.extras.len()
    )?;
    if report.passed {
        writeln!(out, "{}", style.ok("Reproducibility check PASSED"))
    } else {
        writeln!(out, "{}", style.fail("Reproducibility check FAILED"))
    }
}
