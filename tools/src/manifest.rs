//! The manifest that describes one build folder: `manifest.json` next to
//! `<triple>/<bin>` files. The schema is Secluso's (`releases/build.sh`), so
//! manifests written by that pipeline are read unchanged; `sha256` is optional
//! because the older build.sh did not write it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::hashing::HashError;
use crate::style::escape_untrusted;

/// The file every build folder directly contains.
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub build: BuildInfo,
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub target: String,
    pub profile: String,
    pub run_id: String,
    pub timestamp: String,
    /// How each triple was built (`cargo`, `nix-native`, `nix-cross-from-x86_64-linux`, ...).
    /// Not in Secluso's schema; absent there, and `compare` then has nothing to check.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_modes: BTreeMap<String, String>,
    /// The release's version (semver, the workspace's by default). Devices
    /// compare it to refuse going backwards. Not in Secluso's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The git commit the sources came from (40 or 64 lowercase hex), which
    /// rebuilders check out. Absent when the tree had uncommitted changes:
    /// such a build cannot be rebuilt by anyone. Not in Secluso's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_rev: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub package: String,
    pub target: String,
    pub bin: String,
    pub bin_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub version: String,
    pub crate_lock_sha256: String,
    pub rust_digest: String,
}

/// What identifies an artifact, as Secluso matches them: package, target and
/// bin, compared field by field (never joined into one string, which two
/// different artifacts could share).
pub type ArtifactKey<'a> = (&'a str, &'a str, &'a str);

/// A manifest.json larger than this is refused: 100,000 artifacts take 40 MiB.
pub const MANIFEST_LIMIT: u64 = 256 << 20;

impl Artifact {
    /// Why the file's hash, computed now, contradicts what this manifest
    /// records; `None` when they agree. Secluso's compare.bash compares the
    /// recorded hash as exact lowercase hex, and in its `artifacts/` layout
    /// requires one: so do we.
    pub fn recorded_mismatch(&self, actual: &str) -> Option<String> {
        match &self.sha256 {
            None if crate::layout::is_secluso_layout(self) => Some(
                "the manifest records no sha256, which Secluso's artifacts/ layout requires"
                    .to_owned(),
            ),
            None => None,
            Some(listed) if listed == actual => None,
            Some(listed) if listed.eq_ignore_ascii_case(actual) => Some(format!(
                "manifest sha256 {listed} is not lowercase hex; it must be exactly the file's {actual}"
            )),
            Some(listed) => Some(format!(
                "manifest sha256 {listed} does not match the file, which hashes to {actual}"
            )),
        }
    }

    /// The identity compare matches artifacts by.
    pub fn key(&self) -> ArtifactKey<'_> {
        (&self.package, &self.target, &self.bin)
    }

    /// The key as people read it (Secluso's `package | target | bin`); for
    /// display only, since two keys can read the same.
    pub fn display_key(&self) -> String {
        format!("{} | {} | {}", self.package, self.target, self.bin)
    }

    /// The key as Secluso's compare lists missing and extra artifacts
    /// (`package|target|bin`, jq's `key`), so one grep finds it in both
    /// tools' output; for display only.
    pub fn listed_key(&self) -> String {
        format!("{}|{}|{}", self.package, self.target, self.bin)
    }
}

impl Manifest {
    /// Reads `<dir>/manifest.json`. Every way the input can be unusable gets an
    /// error that names the file and says what to do.
    pub fn load(dir: &Path) -> Result<(PathBuf, Manifest)> {
        let meta = fs::metadata(dir).with_context(|| {
            format!(
                "{}: no such build folder; pass the folder that directly contains {MANIFEST_FILE}",
                dir.display()
            )
        })?;
        if !meta.is_dir() {
            bail!(
                "{}: not a folder; pass the folder that directly contains {MANIFEST_FILE}",
                dir.display()
            );
        }
        let path = dir.join(MANIFEST_FILE);
        let bytes = match crate::hashing::read_regular(&path, MANIFEST_LIMIT) {
            Ok(bytes) => bytes,
            Err(HashError::Missing) => bail!(
                "{}: no {MANIFEST_FILE} here; pass the folder that directly contains {MANIFEST_FILE}",
                dir.display()
            ),
            Err(HashError::NotRegularFile) => bail!(
                "{}: not a regular file; the build folder's {MANIFEST_FILE} must be a file",
                path.display()
            ),
            Err(e) => bail!("{}: {e}", path.display()),
        };
        let manifest = Manifest::parse(&bytes).with_context(|| format!("{}", path.display()))?;
        Ok((path, manifest))
    }

    /// Parses and validates manifest text. serde_json's errors carry the line and
    /// column, and serde's derive rejects a field given twice.
    pub fn parse(text: impl AsRef<[u8]>) -> Result<Manifest> {
        let manifest: Manifest = serde_json::from_slice(text.as_ref()).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    "invalid JSON"
                }
                _ => "not a build manifest",
            };
            anyhow::anyhow!("{what}: {e}")
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        for (index, artifact) in self.artifacts.iter().enumerate() {
            for (field, value) in [
                ("package", &artifact.package),
                ("target", &artifact.target),
                ("bin", &artifact.bin),
            ] {
                if value.is_empty() {
                    bail!("artifacts[{index}]: field `{field}` is empty");
                }
            }
            // They name files, and `repro sums` prints them into SHA256SUMS lines.
            for (field, value) in [
                ("target", &artifact.target),
                ("bin", &artifact.bin),
                ("bin_path", &artifact.bin_path),
            ] {
                if value.chars().any(char::is_control) {
                    bail!(
                        "artifacts[{index}]: field `{field}` `{}` contains a control character; file names in a release must not",
                        escape_untrusted(value)
                    );
                }
            }
        }
        let mut order: Vec<usize> = (0..self.artifacts.len()).collect();
        order.sort_by_key(|&i| (self.artifacts[i].key(), i));
        for pair in order.windows(2) {
            let (first, second) = (&self.artifacts[pair[0]], &self.artifacts[pair[1]]);
            if first.key() == second.key() {
                bail!(
                    "artifacts[{}] and artifacts[{}] both describe `{}`; each package | target | bin must appear once",
                    pair[0],
                    pair[1],
                    escape_untrusted(&first.display_key())
                );
            }
        }
        Ok(())
    }

    /// The order compare matches artifacts in: by key.
    pub fn sort_by_key(&mut self) {
        self.artifacts.sort_by(|a, b| a.key().cmp(&b.key()));
    }

    /// The canonical artifact order: by triple, then package, then binary.
    pub fn sort_artifacts(&mut self) {
        self.artifacts
            .sort_by(|a, b| (&a.target, &a.package, &a.bin).cmp(&(&b.target, &b.package, &b.bin)));
    }

    /// Serialises with a fixed key order, artifacts sorted by key, and a final
    /// newline, so that the same build always yields the same bytes.
    pub fn to_canonical_json(&self) -> String {
        let mut sorted = self.clone();
        sorted.sort_artifacts();
        let mut text = serde_json::to_string_pretty(&sorted).expect("a manifest always serialises");
        text.push('\n');
        text
    }

    /// Writes `<dir>/manifest.json` through a temporary file in the same folder
    /// and a rename, so a reader never sees half a manifest.
    pub fn write_atomically(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(MANIFEST_FILE);
        crate::atomic::write(&path, self.to_canonical_json().as_bytes(), 0o644)?;
        Ok(path)
    }
}
