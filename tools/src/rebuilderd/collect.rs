//! `repro rebuilderd collect`: fetch what each instance decided about each
//! artifact of a release and keep it in the release, where `repro verify`
//! and devices read it:
//!
//! - GOOD: the signed in-toto link, byte for byte as served, at
//!   `attestations/rebuilderd/<instance>/<triple>/<bin>.link`, once it names
//!   exactly this release's binary (product) and build input (material). Its
//!   signatures are `repro verify`'s business: it knows the pinned keys.
//! - BAD: an unsigned claim at `.../<bin>.bad.json` (rebuilderd signs none),
//!   which can only make a device refuse.
//!
//! The files of an instance reflect its latest verdict: storing one removes
//! the other kind.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api::{BinaryQuery, Client, FetchError};
use super::release::{Instance, Release, ReleaseArtifact};
use super::{ATTESTATIONS_SUBDIR, BAD_SUFFIX, LINK_SUFFIX};
use crate::style::escape_untrusted;

/// What came of asking one instance about one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// GOOD, and its link is stored.
    Collected,
    /// BAD, and the verdict is stored.
    Bad,
    /// No verdict yet (queued, building, not rebuilt, not synced).
    Pending,
    /// The instance served something that does not fit this release; not stored.
    Rejected,
    /// No connection (or only 5xx) after every retry.
    Unreachable,
    /// An answer that is no rebuilderd answer (too large, not JSON, timeout).
    Error,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Collected => "COLLECTED",
            Outcome::Bad => "BAD",
            Outcome::Pending => "PENDING",
            Outcome::Rejected => "REJECTED",
            Outcome::Unreachable => "UNREACHABLE",
            Outcome::Error => "ERROR",
        }
    }
}

/// One artifact × instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collected {
    pub instance: String,
    pub url: String,
    pub triple: String,
    pub bin: String,
    pub outcome: Outcome,
    /// The instance's status for the binary (GOOD, BAD, UNKWN), if it has a record.
    pub verdict: Option<String>,
    /// The file written, relative to the release folder.
    pub file: Option<String>,
    /// The file of the other kind that this verdict replaced, if any.
    pub removed: Option<String>,
    /// Why, in words (untrusted parts escaped).
    pub detail: String,
}

/// The `.bad.json` file: an instance's BAD verdict on one binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadVerdict {
    pub instance: String,
    pub url: String,
    pub release: String,
    pub version: String,
    pub triple: String,
    pub bin: String,
    pub status: String,
    pub build_id: i64,
}

/// The folder of one instance's files for one triple, relative to the release.
fn relative_dir(instance: &str, triple: &str) -> PathBuf {
    Path::new("attestations")
        .join(ATTESTATIONS_SUBDIR)
        .join(instance)
        .join(triple)
}

/// Asks every instance about every artifact. Errors only for an unusable
/// release (its binaries, its attestations folder); each instance's
/// trouble is an outcome.
pub fn collect(
    release: &Release,
    instances: &[Instance],
    client: &Client,
) -> Result<Vec<Collected>> {
    release.check_attestations_dir()?;
    let mut hashes = Vec::new();
    for artifact in &release.artifacts {
        hashes.push(release.binary_sha256(artifact)?);
    }
    let mut results = Vec::new();
    for instance in instances {
        let mut unreachable: Option<String> = None;
        for (artifact, sha256) in release.artifacts.iter().zip(&hashes) {
            let mut result = Collected {
                instance: instance.name.clone(),
                url: instance.url.clone(),
                triple: artifact.triple.clone(),
                bin: artifact.bin.clone(),
                outcome: Outcome::Unreachable,
                verdict: None,
                file: None,
                removed: None,
                detail: String::new(),
            };
            if let Some(reason) = &unreachable {
                // One unreachable instance costs one round of retries, not one per artifact.
                result.detail = reason.clone();
            } else {
                match one(release, instance, artifact, sha256, client, &mut result) {
                    Ok(()) => {}
                    Err(Stop::Fetch(e)) => {
                        result.outcome = if e.is_unreachable() {
                            unreachable = Some(e.to_string());
                            Outcome::Unreachable
                        } else {
                            Outcome::Error
                        };
                        result.detail = e.to_string();
                    }
                    Err(Stop::Release(e)) => return Err(e),
                }
            }
            results.push(result);
        }
    }
    Ok(results)
}

enum Stop {
    Fetch(FetchError),
    Release(anyhow::Error),
}

impl From<FetchError> for Stop {
    fn from(e: FetchError) -> Stop {
        Stop::Fetch(e)
    }
}

fn one(
    release: &Release,
    instance: &Instance,
    artifact: &ReleaseArtifact,
    sha256: &str,
    client: &Client,
    result: &mut Collected,
) -> Result<(), Stop> {
    let query = BinaryQuery {
        release: &release.name,
        version: &release.version,
        triple: &artifact.triple,
        bin: &artifact.bin,
    };
    let Some(record) = client.binary_package(&instance.url, query)? else {
        result.outcome = Outcome::Pending;
        result.detail = format!(
            "the instance has no record of {} {}: not synced yet (repro rebuilderd sync, then rebuildctl pkgs sync-stdin)",
            release.name, release.version
        );
        return Ok(());
    };
    result.verdict = record.status.as_deref().map(escape_untrusted);
    let dir = relative_dir(&instance.name, &artifact.triple);
    let link = dir.join(format!("{}{LINK_SUFFIX}", artifact.bin));
    let bad = dir.join(format!("{}{BAD_SUFFIX}", artifact.bin));
    let missing_ids = |what: &str| FetchError::Malformed {
        url: instance.url.clone(),
        reason: format!("a {what} record without build_id or artifact_id"),
    };
    match record.status.as_deref() {
        Some("GOOD") => {
            let (Some(build), Some(art)) = (record.build_id, record.artifact_id) else {
                return Err(missing_ids("GOOD").into());
            };
            let Some(bytes) = client.attestation(&instance.url, build, art)? else {
                result.outcome = Outcome::Rejected;
                result.detail = format!(
                    "GOOD in build {build}, but the instance serves no attestation for it; ask its operator"
                );
                return Ok(());
            };
            if let Err(why) = check_link(&bytes, artifact, sha256) {
                result.outcome = Outcome::Rejected;
                result.detail = format!("build {build}: the link {why}; not stored");
                return Ok(());
            }
            store(release, &dir, &link, &bytes, &bad, result).map_err(Stop::Release)?;
            result.outcome = Outcome::Collected;
            result.detail = format!("build {build}");
        }
        Some("BAD") => {
            let Some(build) = record.build_id else {
                return Err(missing_ids("BAD").into());
            };
            let verdict = BadVerdict {
                instance: instance.name.clone(),
                url: instance.url.clone(),
                release: release.name.clone(),
                version: release.version.clone(),
                triple: artifact.triple.clone(),
                bin: artifact.bin.clone(),
                status: "BAD".to_owned(),
                build_id: build,
            };
            let mut bytes = serde_json::to_vec_pretty(&verdict).expect("a verdict serialises");
            bytes.push(b'\n');
            store(release, &dir, &bad, &bytes, &link, result).map_err(Stop::Release)?;
            result.outcome = Outcome::Bad;
            result.detail =
                format!("build {build}: the instance's rebuild differs from the release's binary");
        }
        other => {
            result.outcome = Outcome::Pending;
            result.detail = match other {
                None => "no verdict yet: queued or not rebuilt".to_owned(),
                Some(s) => format!("no verdict yet ({})", escape_untrusted(s)),
            };
        }
    }
    Ok(())
}

/// Why a served link does not fit this artifact, or Ok.
pub fn check_link(bytes: &[u8], artifact: &ReleaseArtifact, sha256: &str) -> Result<(), String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("is not JSON ({e})"))?;
    let signed = value
        .as_object()
        .and_then(|o| o.get("signed"))
        .and_then(Value::as_object)
        .ok_or("is not an in-toto Metablock (no `signed` object)")?;
    if signed.get("_type").and_then(Value::as_str) != Some("link") {
        return Err("is not an in-toto link (`_type` is not \"link\")".to_owned());
    }
    let material = format!("{}.json", artifact.triple);
    for (field, name, expected, what) in [
        (
            "products",
            artifact.bin.as_str(),
            sha256,
            "the release's binary",
        ),
        (
            "materials",
            material.as_str(),
            artifact.input_sha256.as_str(),
            "this release's build input",
        ),
    ] {
        let entries = signed
            .get(field)
            .and_then(Value::as_object)
            .ok_or_else(|| format!("has no `{field}` object"))?;
        let names: Vec<String> = entries.keys().map(|k| escape_untrusted(k)).collect();
        if entries.len() != 1 || !entries.contains_key(name) {
            return Err(format!(
                "names {field} [{}], not exactly `{}`",
                names.join(", "),
                escape_untrusted(name)
            ));
        }
        let got = entries[name]
            .get("sha256")
            .and_then(Value::as_str)
            .unwrap_or("");
        if got != expected {
            return Err(format!(
                "is for other bytes: its {field} `{}` has sha256 {}, {what} {expected}",
                escape_untrusted(name),
                escape_untrusted(got)
            ));
        }
    }
    Ok(())
}

/// Writes `bytes` at `file` (relative to the release) atomically, making the
/// folders without following a symlink, and removes `other` (the opposite
/// verdict) if it is there.
fn store(
    release: &Release,
    dir: &Path,
    file: &Path,
    bytes: &[u8],
    other: &Path,
    result: &mut Collected,
) -> Result<()> {
    let mut path = release.dir.clone();
    for part in dir.components() {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => bail!(
                "{}: a symlink or file where the collector keeps a folder; remove it",
                path.display()
            ),
            Err(_) => fs::create_dir(&path)
                .map_err(|e| anyhow::anyhow!("{}: cannot make the folder: {e}", path.display()))?,
        }
    }
    crate::atomic::write(&release.dir.join(file), bytes, 0o644)?;
    let other_path = release.dir.join(other);
    if fs::symlink_metadata(&other_path).is_ok() {
        fs::remove_file(&other_path).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot remove the instance's earlier verdict: {e}",
                other_path.display()
            )
        })?;
        result.removed = Some(other.display().to_string());
    }
    result.file = Some(file.display().to_string());
    Ok(())
}
