//! `repro compare A B`: Secluso's `compare_runs`, made safe against hostile
//! folders. The result is a [`Report`]; the human lines and `--json` are two
//! renderings of it.

use std::cmp::Ordering;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::hashing::{self, HashError};
use crate::layout;
use crate::manifest::{Artifact, Manifest};
use crate::progress::Progress;
use crate::style::escape_untrusted;

mod render;
pub use render::render;

/// The version of the `--json` document's shape
/// (`tools/schemas/compare.schema.json`): raised when a field is removed or
/// changes meaning, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// A build folder: its manifest, checked, and a handle on the folder that
/// every artifact's file is opened beneath.
pub struct BuildFolder {
    /// As the user named it, for messages.
    pub shown: PathBuf,
    /// Canonical, for messages and the undescribed-files walk.
    pub root: PathBuf,
    /// The folder, opened once: files are opened relative to it.
    root_dir: File,
    pub manifest_path: PathBuf,
    /// Artifacts sorted by key (package, target, bin).
    pub manifest: Manifest,
}

impl BuildFolder {
    /// Loads `dir/manifest.json` and checks every `bin_path`'s shape. Any
    /// error means the folder is unusable input.
    pub fn open(dir: &Path) -> Result<BuildFolder> {
        let (manifest_path, mut manifest) = Manifest::load(dir)?;
        let root = dir
            .canonicalize()
            .with_context(|| format!("{}: cannot resolve the folder", dir.display()))?;
        let root_dir = File::open(&root)
            .with_context(|| format!("{}: cannot open the folder", dir.display()))?;
        for artifact in &manifest.artifacts {
            layout::check(artifact).map_err(|why| {
                anyhow::anyhow!(
                    "{}: artifact `{}`: unsafe bin_path: {why}",
                    manifest_path.display(),
                    escape_untrusted(&artifact.display_key())
                )
            })?;
        }
        manifest.sort_by_key();
        Ok(BuildFolder {
            shown: dir.to_owned(),
            root,
            root_dir,
            manifest_path,
            manifest,
        })
    }

    /// Opens an artifact's file, once, beneath the folder: never outside it,
    /// and in Secluso's `artifacts/` layout never through a symlink.
    pub fn open_artifact(&self, artifact: &Artifact) -> Result<(File, u64), HashError> {
        hashing::open_beneath(
            &self.root_dir,
            Path::new(&artifact.bin_path),
            layout::is_secluso_layout(artifact),
        )
    }

    /// The artifact with this key.
    pub fn find(&self, key: crate::manifest::ArtifactKey) -> Option<&Artifact> {
        let artifacts = &self.manifest.artifacts;
        artifacts
            .binary_search_by(|a| a.key().cmp(&key))
            .ok()
            .map(|i| &artifacts[i])
    }

    /// The unusable-input error for an artifact whose path was refused as unsafe.
    pub fn unsafe_path(&self, artifact: &Artifact, error: &HashError) -> anyhow::Error {
        anyhow::anyhow!(
            "{}: artifact `{}`: unsafe bin_path: {}",
            self.manifest_path.display(),
            escape_untrusted(&artifact.display_key()),
            layout::describe_unsafe(&self.root, &artifact.bin_path, error)
        )
    }

    /// Hashes the given artifacts of this folder on one pool; an unsafe path
    /// is unusable input.
    fn hash(
        &self,
        artifacts: &[&Artifact],
        threads: usize,
        progress: &ProgressBar,
    ) -> Result<Vec<Result<String, HashError>>> {
        let hashes = hashing::sha256_each(
            artifacts,
            threads,
            |a| self.open_artifact(a).map(|(file, _)| file),
            &|| progress.inc(1),
        );
        for (artifact, hash) in artifacts.iter().zip(&hashes) {
            if let Err(e) = hash
                && e.is_unsafe_path()
            {
                return Err(self.unsafe_path(artifact, e));
            }
        }
        Ok(hashes)
    }

    /// Every artifact in the manifest's canonical order with the SHA-256 of its
    /// file, hashed now, or why it has none: `<bin_path>: <reason>` for a
    /// missing or unreadable file or one that contradicts its own manifest.
    /// An unsafe path is an error: the folder is unusable.
    pub fn hash_artifacts(
        &self,
        threads: usize,
    ) -> Result<Vec<(&Artifact, Result<String, String>)>> {
        let mut ordered: Vec<&Artifact> = self.manifest.artifacts.iter().collect();
        ordered
            .sort_by(|a, b| (&a.target, &a.package, &a.bin).cmp(&(&b.target, &b.package, &b.bin)));
        let hashes = self.hash(&ordered, threads, &ProgressBar::hidden())?;
        Ok(ordered
            .into_iter()
            .zip(hashes)
            .map(|(artifact, hash)| {
                let checked = match hash {
                    Err(e) => Err(format!("{}: {e}", artifact.bin_path)),
                    Ok(actual) => match artifact.recorded_mismatch(&actual) {
                        Some(why) => Err(format!("{}: {why}", artifact.bin_path)),
                        None => Ok(actual),
                    },
                };
                (artifact, checked)
            })
            .collect())
    }

    /// Files in the folder that its manifest does not describe.
    pub fn undescribed_files(&self) -> Vec<String> {
        self.other_files().0
    }

    /// Files its manifest does not describe, then known release companions
    /// (SHA256SUMS, attestations).
    pub fn other_files(&self) -> (Vec<String>, Vec<String>) {
        layout::other_files(
            &self.root,
            self.manifest.artifacts.iter().map(|a| a.bin_path.as_str()),
        )
    }

    fn same_folder_as(&self, other: &BuildFolder) -> bool {
        match (self.root_dir.metadata(), other.root_dir.metadata()) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => self.root == other.root,
        }
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
    /// The folder as the user named it.
    pub dir: String,
    /// Artifacts its manifest lists.
    pub artifacts: usize,
    /// Of those, how many the other side has too, and so were compared.
    pub compared: usize,
    /// Of those, how many were identical (status ok).
    pub identical: usize,
    /// Artifacts only this side has: not compared.
    pub not_compared: usize,
    /// Files present in the folder but not described by its manifest.
    pub undescribed_files: Vec<String>,
    /// Known companions of a release (SHA256SUMS, attestations/): expected,
    /// not checked by compare.
    pub companion_files: Vec<String>,
}

/// The numbers of the summary line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub ok: usize,
    pub diff: usize,
    pub fail: usize,
    pub missing: usize,
    pub extra: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub a: SideSummary,
    pub b: SideSummary,
    /// Which side had fewer artifacts, and so must be a subset of the other.
    pub smaller: String,
    /// Keys (`package|target|bin`, as Secluso lists them) of the smaller
    /// side that the larger lacks (each a failure).
    pub missing: Vec<String>,
    /// Keys only the larger side has (information, not failure).
    pub extras: Vec<String>,
    pub results: Vec<ArtifactResult>,
    pub counts: Counts,
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
    compare_showing(a_dir, b_dir, threads, Progress::Off)
}

/// [`compare`], showing the hashing as `progress` says.
pub fn compare_showing(
    a_dir: &Path,
    b_dir: &Path,
    threads: usize,
    progress: Progress,
) -> Result<Report> {
    let a = BuildFolder::open(a_dir)?;
    let b = BuildFolder::open(b_dir)?;
    if a.same_folder_as(&b) {
        bail!(
            "{} and {} are the same folder ({}); a folder always matches itself, so pass two different build folders",
            a_dir.display(),
            b_dir.display(),
            a.root.display()
        );
    }
    let (a_count, b_count) = (a.manifest.artifacts.len(), b.manifest.artifacts.len());
    let smaller = if a_count <= b_count { "A" } else { "B" };
    // Before the per-artifact results exist, so the walk's memory and theirs
    // are never needed at once.
    let summary = |f: &BuildFolder| {
        let (undescribed_files, companion_files) = f.other_files();
        SideSummary {
            dir: f.shown.display().to_string(),
            artifacts: f.manifest.artifacts.len(),
            compared: 0,
            identical: 0,
            not_compared: 0,
            undescribed_files,
            companion_files,
        }
    };
    let (a_summary, b_summary) = (summary(&a), summary(&b));

    // Both sides are sorted by key: one merge finds the common, missing and
    // extra artifacts (as indices) without a map or a key string per artifact.
    let (arts_a, arts_b) = (&a.manifest.artifacts, &b.manifest.artifacts);
    let mut common: Vec<(usize, usize)> = Vec::new();
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < a_count || j < b_count {
        let order = match (arts_a.get(i), arts_b.get(j)) {
            (Some(x), Some(y)) => x.key().cmp(&y.key()),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                only_a.push(arts_a[i].listed_key());
                i += 1;
            }
            Ordering::Greater => {
                only_b.push(arts_b[j].listed_key());
                j += 1;
            }
            Ordering::Equal => {
                common.push((i, j));
                i += 1;
                j += 1;
            }
        }
    }
    let (missing, extras) = if smaller == "A" {
        (only_a, only_b)
    } else {
        (only_b, only_a)
    };

    // Build inputs first: when they differ, the binaries are expected to differ
    // and hashing them would add noise, not information.
    let diffs: Vec<Vec<FieldDiff>> = common
        .iter()
        .map(|&(i, j)| input_diffs(&a.manifest, &arts_a[i], &b.manifest, &arts_b[j]))
        .collect();
    let unchanged = || {
        common
            .iter()
            .zip(&diffs)
            .filter(|(_, d)| d.is_empty())
            .map(|(pair, _)| *pair)
    };
    let hash_a: Vec<&Artifact> = unchanged().map(|(i, _)| &arts_a[i]).collect();
    let hash_b: Vec<&Artifact> = unchanged().map(|(_, j)| &arts_b[j]).collect();
    // Each side's pool uses all threads; A's files, then B's.
    let bar = progress.hashing(hash_a.len() + hash_b.len());
    let mut hashes_a = a.hash(&hash_a, threads, &bar)?.into_iter();
    let mut hashes_b = b.hash(&hash_b, threads, &bar)?.into_iter();
    bar.finish_and_clear();
    drop((hash_a, hash_b));

    // A's manifest is not needed after this: its strings move into the results.
    let (mut arts_a, arts_b) = (a.manifest.artifacts, &b.manifest.artifacts);
    let mut results = Vec::with_capacity(common.len());
    for ((i, j), mut diffs) in common.into_iter().zip(diffs) {
        let (art_a, art_b) = (std::mem::take(&mut arts_a[i]), &arts_b[j]);
        let (mut status, mut failures, mut a_sha256, mut b_sha256) =
            (Status::Diff, Vec::new(), None, None);
        if diffs.is_empty() {
            // Each file named as the user would reach it: their folder, then bin_path.
            for (side, art, hash, into) in [
                (&a_summary.dir, &art_a, hashes_a.next(), &mut a_sha256),
                (&b_summary.dir, art_b, hashes_b.next(), &mut b_sha256),
            ] {
                let file = Path::new(side).join(&art.bin_path);
                match hash.expect("one hash per artifact") {
                    Ok(actual) => {
                        if let Some(why) = art.recorded_mismatch(&actual) {
                            failures.push(format!("{}: {why}", file.display()));
                        }
                        *into = Some(actual);
                    }
                    Err(e) => failures.push(format!("{}: {e}", file.display())),
                }
            }
            status = if !failures.is_empty() {
                Status::Fail
            } else if a_sha256 != b_sha256 {
                diffs.push(FieldDiff {
                    field: "sha256".into(),
                    a: a_sha256.clone().unwrap_or_default(),
                    b: b_sha256.clone().unwrap_or_default(),
                });
                Status::Diff
            } else {
                Status::Ok
            };
        }
        results.push(ArtifactResult {
            key: art_a.display_key(),
            package: art_a.package,
            target: art_a.target,
            bin: art_a.bin,
            status,
            crate_name: art_a.crate_name,
            version: art_a.version,
            a_sha256,
            b_sha256,
            diffs,
            failures,
        });
    }

    let passed =
        missing.is_empty() && !results.is_empty() && results.iter().all(|r| r.status == Status::Ok);
    let count = |status| results.iter().filter(|r| r.status == status).count();
    let counts = Counts {
        ok: count(Status::Ok),
        diff: count(Status::Diff),
        fail: count(Status::Fail),
        missing: missing.len(),
        extra: extras.len(),
    };
    let (mut a_summary, mut b_summary) = (a_summary, b_summary);
    for side in [&mut a_summary, &mut b_summary] {
        side.compared = results.len();
        side.identical = counts.ok;
        side.not_compared = side.artifacts - results.len();
    }
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        a: a_summary,
        b: b_summary,
        smaller: smaller.into(),
        missing,
        extras,
        results,
        counts,
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
    // The commit names the source: both sides carrying one and differing
    // means B was built from other sources, so whatever the hashes say, B is
    // no rebuild of A. The release version is only a label (`nix build` and
    // `repro build` take the workspace's, a publisher may choose another), so
    // it is not held against a rebuild. One side without a commit (an older
    // manifest, a dirty tree) leaves nothing to check.
    if let (Some(x), Some(y)) = (&ma.build.source_rev, &mb.build.source_rev) {
        check("source_rev", x, y, false);
    }
    diffs
}
