//! Which trusted rebuilderd instances confirm a release's binaries: every
//! file the collector stored under `<attestations>/rebuilderd/` (signed
//! links, BAD verdicts), judged against the rebuilders file. `repro verify
//! --rebuilders` and camhub-update both decide with [`check_release`].
//!
//! A link speaks for the instance whose pinned key verifies it, never for the
//! folder it sits in; it is about this release and triple only when its one
//! material is this release's build input (a pure function of manifest.json
//! and the triple, see [`super::input`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::attest::{
    self, ArtifactAgreement, AttestationFormat, AttestationResult, AttestationStatus, Checked,
    Disagreement,
};
use crate::compare::BuildFolder;
use crate::hashing::{self, HashError};
use crate::manifest::{Artifact, MANIFEST_LIMIT, Manifest};
use crate::rebuilderd::stored::{Entry, walk};
use crate::rebuilderd::trust::TrustConfig;
use crate::rebuilderd::{ATTESTATIONS_SUBDIR, BAD_SUFFIX, LINK_SUFFIX, input, link, release_name};
use crate::style::escape_untrusted;

/// A BAD verdict is a handful of short fields.
const VERDICT_LIMIT: u64 = 64 << 10;
/// What a disagreement records for a BAD verdict instead of a hash.
pub const BAD: &str = "BAD";

/// What the instances' files say about one release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuilderdReport {
    /// One entry per file under `<attestations>/rebuilderd/`, in path order;
    /// `file` is relative to the attestations folder, `principal` the
    /// instance's name.
    pub links: Vec<AttestationResult>,
    /// One entry per artifact judged (all, or the one `only` names).
    pub artifacts: Vec<ArtifactAgreement>,
}

/// Checks every file under `<attestations>/rebuilderd/` against `trust`, for
/// the release at `release` (a folder with manifest.json); `only` =
/// Some((triple, bin)) restricts the artifacts judged to one (the device).
/// ArtifactAgreement.name = bin_path ("<triple>/<bin>"), .sha256 = the
/// release file's hash, .agreed = instance names, .disagreed =
/// [Disagreement{principal: instance, sha256: their hash or "BAD", file}],
/// .missing = trusted instances that neither confirmed nor disagreed,
/// .passed = agreed.len() >= trust.k && disagreed.is_empty().
pub fn check_release(
    release: &Path,
    attestations: &Path,
    trust: &TrustConfig,
    only: Option<(&str, &str)>,
) -> Result<RebuilderdReport> {
    let folder = BuildFolder::open(release)?;
    let manifest_bytes = manifest_bytes(&folder)?;
    let hashed = match only {
        None => attest::hashed_artifacts(&folder)?,
        Some((triple, bin)) => vec![hash_one(&folder, triple, bin)?],
    };
    judge(
        &folder.manifest,
        &manifest_bytes,
        &hashed,
        attestations,
        trust,
    )
}

/// manifest.json's bytes, which the build input is made from: read again,
/// and refused unless they are the manifest the folder was opened with.
pub(crate) fn manifest_bytes(folder: &BuildFolder) -> Result<Vec<u8>> {
    let path = &folder.manifest_path;
    let bytes = hashing::read_regular(path, MANIFEST_LIMIT)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut again = Manifest::parse(&bytes).with_context(|| format!("{}", path.display()))?;
    again.sort_by_key();
    if again != folder.manifest {
        bail!(
            "{}: changed while it was read; verify a release folder nothing is writing to",
            path.display()
        );
    }
    Ok(bytes)
}

/// The one artifact a device checks, hashed now (as hashed_artifacts does).
fn hash_one(folder: &BuildFolder, triple: &str, bin: &str) -> Result<(String, String, Artifact)> {
    let name = format!("{triple}/{bin}");
    let Some(artifact) = folder
        .manifest
        .artifacts
        .iter()
        .find(|a| a.target == triple && a.bin == bin)
    else {
        bail!(
            "{}: the release has no {}; it is not a release of this binary",
            folder.manifest_path.display(),
            escape_untrusted(&name)
        );
    };
    let hash = folder
        .open_artifact(artifact)
        .and_then(|(file, _)| hashing::sha256_reader(file, &mut vec![0u8; 1 << 20]));
    let hash = match hash {
        Ok(hash) => hash,
        Err(e) if e.is_unsafe_path() => return Err(folder.unsafe_path(artifact, &e)),
        Err(e) => bail!(
            "{}: {}: {e}",
            folder.shown.display(),
            escape_untrusted(&artifact.bin_path)
        ),
    };
    if let Some(why) = artifact.recorded_mismatch(&hash) {
        bail!(
            "{}: {}: {why}",
            folder.shown.display(),
            escape_untrusted(&artifact.bin_path)
        );
    }
    Ok((name, hash, artifact.clone()))
}

/// How `repro verify` names an instance beside SSH principals, so that an
/// instance called like a principal is never counted as the same confirmer.
pub const INSTANCE_PREFIX: &str = "rebuilderd:";

/// [`check_release`] for `repro verify`, which has the folder open and its
/// artifacts hashed already: instances named `rebuilderd:<name>`.
pub(crate) fn for_verify(
    folder: &BuildFolder,
    hashed: &[(String, String, Artifact)],
    attestations: &Path,
    trust: &TrustConfig,
) -> Result<RebuilderdReport> {
    let bytes = manifest_bytes(folder)?;
    let mut report = judge(&folder.manifest, &bytes, hashed, attestations, trust)?;
    let prefixed = |name: &mut String| name.insert_str(0, INSTANCE_PREFIX);
    for link in &mut report.links {
        if let Some(p) = link.principal.as_mut() {
            prefixed(p);
        }
    }
    for a in &mut report.artifacts {
        a.agreed.iter_mut().for_each(prefixed);
        a.missing.iter_mut().for_each(prefixed);
        a.disagreed
            .iter_mut()
            .for_each(|d| prefixed(&mut d.principal));
    }
    Ok(report)
}

/// The verdicts of one release: `hashed` are the artifacts judged.
pub(crate) fn judge(
    manifest: &Manifest,
    manifest_bytes: &[u8],
    hashed: &[(String, String, Artifact)],
    attestations: &Path,
    trust: &TrustConfig,
) -> Result<RebuilderdReport> {
    let root = attestations.join(ATTESTATIONS_SUBDIR);
    let entries = match std::fs::symlink_metadata(&root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Ok(meta) if !meta.is_dir() => vec![Entry::Refused(
            String::new(),
            "not a folder (a symlink is not followed)".to_owned(),
        )],
        _ => walk(&root)?,
    };
    // Opened once; every file is opened beneath it, through no symlink, so a
    // folder swapped for a link after the walk is refused.
    let root_dir = File::open(&root).ok();
    let mut judge = Judge {
        manifest,
        manifest_bytes,
        hashed,
        trust,
        inputs: BTreeMap::new(),
        seen: BTreeSet::new(),
        confirmed: BTreeMap::new(),
        disagreed: BTreeMap::new(),
    };
    let mut links = Vec::new();
    for entry in entries {
        let (rel, checked, format) = match entry {
            Entry::Refused(rel, why) => (
                rel,
                Err((AttestationStatus::Malformed, why)),
                AttestationFormat::RebuilderdLink,
            ),
            Entry::File(rel) => {
                let file = format!("{ATTESTATIONS_SUBDIR}/{rel}");
                let (format, limit) = if rel.ends_with(BAD_SUFFIX) {
                    (AttestationFormat::RebuilderdVerdict, VERDICT_LIMIT)
                } else {
                    (AttestationFormat::RebuilderdLink, link::LINK_LIMIT)
                };
                let read = match &root_dir {
                    Some(dir) => hashing::open_beneath(dir, Path::new(&rel), true)
                        .and_then(|(f, len)| hashing::read_bounded(f, len, limit)),
                    None => Err(HashError::Missing),
                };
                let checked = match read {
                    Err(e) => Err((AttestationStatus::Malformed, e.to_string())),
                    Ok(_) if !rel.ends_with(LINK_SUFFIX) && !rel.ends_with(BAD_SUFFIX) => Err((
                        AttestationStatus::Malformed,
                        format!(
                            "neither <bin>{LINK_SUFFIX} nor <bin>{BAD_SUFFIX}: not from `repro rebuilderd collect`"
                        ),
                    )),
                    Ok(bytes) if format == AttestationFormat::RebuilderdVerdict => {
                        judge.verdict(&bytes, &file)
                    }
                    Ok(bytes) => judge.link(&bytes, &file),
                };
                (rel, checked, format)
            }
        };
        let (status, principal, detail) = match checked {
            Ok((status, instance, detail)) => (status, Some(instance), detail),
            Err((status, detail)) => (status, None, detail),
        };
        links.push(AttestationResult {
            file: format!("{ATTESTATIONS_SUBDIR}/{rel}"),
            format,
            status,
            principal,
            detail,
        });
    }
    Ok(RebuilderdReport {
        links,
        artifacts: judge.artifacts(),
    })
}

/// The state of one judgement, file by file.
struct Judge<'a> {
    manifest: &'a Manifest,
    manifest_bytes: &'a [u8],
    hashed: &'a [(String, String, Artifact)],
    trust: &'a TrustConfig,
    /// Triple → sha256 of this release's build input, or why there is none.
    inputs: BTreeMap<String, std::result::Result<String, String>>,
    /// (instance, artifact) pairs already counted.
    seen: BTreeSet<(String, String)>,
    /// Artifact → instances whose link confirms its hash.
    confirmed: BTreeMap<String, BTreeSet<String>>,
    disagreed: BTreeMap<String, Vec<Disagreement>>,
}

/// A status with the instance it is about.
type Verdict = Checked<(AttestationStatus, String, String)>;

#[derive(Deserialize)]
struct BadVerdict {
    instance: String,
    release: String,
    version: String,
    triple: String,
    bin: String,
    status: String,
}

impl Judge<'_> {
    fn input_sha256(&mut self, triple: &str) -> std::result::Result<String, String> {
        let bytes = self.manifest_bytes;
        self.inputs
            .entry(triple.to_owned())
            .or_insert_with(|| {
                input::render(bytes, triple)
                    .map(|b| hashing::sha256_bytes(&b))
                    .map_err(|e| format!("{e:#}"))
            })
            .clone()
    }

    /// The judged artifact `<triple>/<bin>`, or why the file is not about one.
    fn artifact(&self, triple: &str, bin: &str) -> std::result::Result<(String, String), String> {
        let name = format!("{triple}/{bin}");
        if let Some((name, hash, _)) = self.hashed.iter().find(|(n, _, _)| *n == name) {
            return Ok((name.clone(), hash.clone()));
        }
        let shown = escape_untrusted(&name);
        if self
            .manifest
            .artifacts
            .iter()
            .any(|a| a.target == triple && a.bin == bin)
        {
            Err(format!(
                "about {shown}, which is not the binary checked here"
            ))
        } else {
            Err(format!("about {shown}, which this release does not have"))
        }
    }

    fn link(&mut self, bytes: &[u8], file: &str) -> Verdict {
        use AttestationStatus::*;
        let checked = link::check(bytes, self.trust)?;
        let instance = checked.instance.clone();
        let signed = |why: String| Ok((Malformed, instance.clone(), why));
        let (Some((material, Some(material_sha))), Some((bin, Some(product_sha)))) = (
            link::only_entry(&checked.materials),
            link::only_entry(&checked.products),
        ) else {
            return signed(
                "signed, but not a camhub rebuild: it must name exactly one material and one product, each with a sha256".to_owned(),
            );
        };
        let e = escape_untrusted;
        let Some(triple) = material.strip_suffix(".json") else {
            return signed(format!(
                "signed, but its material `{}` is not a camhub build input (<triple>.json)",
                e(material)
            ));
        };
        let other = |why: String| Ok((OtherRelease, instance.clone(), why));
        let ours = match self.input_sha256(triple) {
            Ok(ours) => ours,
            Err(why) => {
                return other(format!(
                    "rebuilt {} for {}, which this release cannot be rebuilt for: {why}",
                    e(bin),
                    e(triple)
                ));
            }
        };
        if material_sha != ours {
            return other(format!(
                "for another release: its input {} has sha256 {}, this release's has {}",
                e(material),
                short(material_sha),
                short(&ours)
            ));
        }
        let (name, hash) = match self.artifact(triple, bin) {
            Ok(found) => found,
            Err(why) => return other(why),
        };
        let first = self.seen.insert((instance.clone(), name.clone()));
        let also = if checked.also_signed_by.is_empty() {
            String::new()
        } else {
            format!(
                " (also signed by {}, counted for {instance} only)",
                e(&checked.also_signed_by.join(", "))
            )
        };
        let detail = if product_sha == hash {
            self.confirmed
                .entry(name.clone())
                .or_default()
                .insert(instance.clone());
            format!("{name}: rebuilt to the release's bytes{also}")
        } else {
            self.disagree(&name, &instance, product_sha, file);
            format!(
                "{name}: rebuilt to sha256 {}, the release file hashes to {}{also}",
                e(product_sha),
                hash
            )
        };
        if first {
            Ok((Counted, instance, detail))
        } else {
            Ok((
                Duplicate,
                instance,
                format!("{detail}; this instance is already counted for {name}"),
            ))
        }
    }

    fn verdict(&mut self, bytes: &[u8], file: &str) -> Verdict {
        use AttestationStatus::*;
        let e = escape_untrusted;
        let verdict: BadVerdict = serde_json::from_slice(bytes).map_err(|err| {
            (
                Malformed,
                format!("not a BAD verdict: {}", e(&err.to_string())),
            )
        })?;
        if verdict.status != BAD {
            return Err((
                Malformed,
                format!(
                    "a verdict file with status `{}`, not BAD",
                    e(&verdict.status)
                ),
            ));
        }
        let Some(rebuilder) = self.trust.by_name(&verdict.instance) else {
            return Err((
                Untrusted,
                format!(
                    "a BAD verdict naming instance `{}`, which is not in the rebuilders file",
                    e(&verdict.instance)
                ),
            ));
        };
        let instance = rebuilder.name.clone();
        let build = &self.manifest.build;
        let this_release = release_name(&build.target, &build.profile);
        if verdict.release != this_release || Some(&verdict.version) != build.version.as_ref() {
            return Ok((
                OtherRelease,
                instance,
                format!(
                    "a BAD verdict on {} {}, this is {this_release} {}",
                    e(&verdict.release),
                    e(&verdict.version),
                    e(build.version.as_deref().unwrap_or("(no version)"))
                ),
            ));
        }
        let (name, _) = match self.artifact(&verdict.triple, &verdict.bin) {
            Ok(found) => found,
            Err(why) => return Ok((OtherRelease, instance, format!("a BAD verdict {why}"))),
        };
        let known = self.disagreed.get(&name).is_some_and(|list| {
            list.iter()
                .any(|d| d.principal == instance && d.sha256 == BAD)
        });
        if known {
            return Ok((
                Duplicate,
                instance,
                format!("{name}: another BAD verdict by the same instance"),
            ));
        }
        self.disagree(&name, &instance, BAD, file);
        Ok((
            Counted,
            instance,
            format!("{name}: rebuilt to other bytes (BAD)"),
        ))
    }

    fn disagree(&mut self, name: &str, instance: &str, sha256: &str, file: &str) {
        let list = self.disagreed.entry(name.to_owned()).or_default();
        if !list
            .iter()
            .any(|d| d.principal == instance && d.sha256 == sha256)
        {
            list.push(Disagreement {
                principal: instance.to_owned(),
                sha256: sha256.to_owned(),
                file: file.to_owned(),
            });
        }
    }

    fn artifacts(mut self) -> Vec<ArtifactAgreement> {
        let mut out = Vec::new();
        for (name, hash, _) in self.hashed {
            let agreed: Vec<String> = self
                .confirmed
                .remove(name)
                .unwrap_or_default()
                .into_iter()
                .collect();
            let disagreed = self.disagreed.remove(name).unwrap_or_default();
            let missing = self
                .trust
                .rebuilders
                .iter()
                .map(|r| r.name.clone())
                .filter(|n| !agreed.contains(n) && !disagreed.iter().any(|d| &d.principal == n))
                .collect();
            out.push(ArtifactAgreement {
                name: name.clone(),
                sha256: hash.clone(),
                passed: agreed.len() >= self.trust.k && disagreed.is_empty(),
                agreed,
                disagreed,
                missing,
            });
        }
        out
    }
}

/// The first 12 characters (not bytes: the text is untrusted).
fn short(hash: &str) -> String {
    escape_untrusted(&hash.chars().take(12).collect::<String>())
}
