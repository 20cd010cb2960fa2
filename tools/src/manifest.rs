//! The manifest that describes one build folder: `manifest.json` next to
//! `<triple>/<bin>` files. The schema is Secluso's (`releases/build.sh`), so
//! manifests written by that pipeline are read unchanged; `sha256` is optional
//! because the older build.sh did not write it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl Artifact {
    /// Why the file's hash, computed now, contradicts the one this manifest
    /// records; `None` when it records none or the same.
    pub fn recorded_mismatch(&self, actual: &str) -> Option<String> {
        self.sha256
            .as_ref()
            .filter(|listed| !listed.eq_ignore_ascii_case(actual))
            .map(|listed| {
                format!(
                    "manifest sha256 {listed} does not match the file, which hashes to {actual}"
                )
            })
    }

    /// The identity compare matches artifacts by, as Secluso does.
    pub fn key(&self) -> String {
        format!("{} | {} | {}", self.package, self.target, self.bin)
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
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{}: no {MANIFEST_FILE} here; pass the folder that directly contains {MANIFEST_FILE}",
                dir.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
        };
        let manifest = Manifest::parse(&text).with_context(|| format!("{}", path.display()))?;
        Ok((path, manifest))
    }

    /// Parses and validates manifest text. serde_json's errors carry the line and
    /// column, and serde's derive rejects a field given twice.
    pub fn parse(text: &str) -> Result<Manifest> {
        let manifest: Manifest = serde_json::from_str(text).map_err(|e| {
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
        let mut seen = BTreeMap::new();
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
            if let Some(first) = seen.insert(artifact.key(), index) {
                bail!(
                    "artifacts[{first}] and artifacts[{index}] both describe `{}`; each package | target | bin must appear once",
                    artifact.key()
                );
            }
        }
        Ok(())
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
