//! A local release folder as the operator commands (collect, status) see
//! it: its rebuilderd identity (release name, version), its artifacts with
//! the hash of each one's build input, and the instances to ask.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::api;
use super::trust::TrustConfig;
use crate::hashing::{self, HashError, open_beneath, read_regular, sha256_bytes, sha256_reader};
use crate::manifest::{MANIFEST_FILE, MANIFEST_LIMIT, Manifest};
use crate::style::escape_untrusted;

/// One release folder, read once.
#[derive(Debug)]
pub struct Release {
    pub dir: PathBuf,
    /// rebuilderd's `release`: `<target>-<profile>`.
    pub name: String,
    /// The manifest's build.version.
    pub version: String,
    /// rebuilderd's source package name: `camhub-<target>-<profile>`.
    pub source_name: String,
    pub artifacts: Vec<ReleaseArtifact>,
}

#[derive(Debug, Clone)]
pub struct ReleaseArtifact {
    pub triple: String,
    pub bin: String,
    pub bin_path: String,
    /// sha256 of `input::render(manifest.json, triple)`: the material a link must name.
    pub input_sha256: String,
}

impl ReleaseArtifact {
    /// `<triple>/<bin>`, how output names an artifact.
    pub fn label(&self) -> String {
        format!("{}/{}", self.triple, self.bin)
    }
}

/// A name that becomes one path component: not empty, no `/`, not `.` or `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(char::is_control)
}

impl Release {
    /// Reads `<dir>/manifest.json`; refuses a release no rebuilder could act on.
    pub fn load(dir: &Path) -> Result<Release> {
        let shown = dir.display();
        let path = dir.join(MANIFEST_FILE);
        let bytes = match read_regular(&path, MANIFEST_LIMIT) {
            Ok(bytes) => bytes,
            Err(HashError::Missing) => bail!(
                "{shown}: no {MANIFEST_FILE} here; pass the release folder that directly contains it"
            ),
            Err(e) => bail!("{}: {e}", path.display()),
        };
        let manifest = Manifest::parse(&bytes).with_context(|| path.display().to_string())?;
        let mut artifacts = Vec::new();
        for a in &manifest.artifacts {
            if !is_plain_name(&a.target) || !is_plain_name(&a.bin) {
                bail!(
                    "{}: artifact `{}`: its triple and bin must be plain file names (they name folders under attestations/rebuilderd/)",
                    path.display(),
                    escape_untrusted(&a.display_key())
                );
            }
            let input = super::input::render(&bytes, &a.target)
                .with_context(|| format!("{}", path.display()))?;
            artifacts.push(ReleaseArtifact {
                triple: a.target.clone(),
                bin: a.bin.clone(),
                bin_path: a.bin_path.clone(),
                input_sha256: sha256_bytes(&input),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &artifacts {
            if !seen.insert((a.triple.as_str(), a.bin.as_str())) {
                bail!(
                    "{}: two artifacts are `{}`; rebuilderd knows a binary by triple and name, so each must appear once",
                    path.display(),
                    escape_untrusted(&a.label())
                );
            }
        }
        if artifacts.is_empty() {
            bail!(
                "{}: the manifest lists no artifact; nothing to rebuild",
                path.display()
            );
        }
        let version = manifest
            .build
            .version
            .clone()
            .expect("input::render checked it");
        Ok(Release {
            dir: dir.to_owned(),
            name: super::release_name(&manifest.build.target, &manifest.build.profile),
            source_name: super::source_package_name(
                &manifest.build.target,
                &manifest.build.profile,
            ),
            version,
            artifacts,
        })
    }

    /// sha256 of the release's own file for `artifact`, opened beneath the
    /// release folder without following any symlink.
    pub fn binary_sha256(&self, artifact: &ReleaseArtifact) -> Result<String> {
        let root = File::open(&self.dir)
            .with_context(|| format!("{}: cannot open the release folder", self.dir.display()))?;
        let shown = self.dir.join(&artifact.bin_path);
        let (file, _) = open_beneath(&root, Path::new(&artifact.bin_path), true).map_err(|e| {
            anyhow::anyhow!(
                "{}: {e}; the release must hold every binary its manifest lists",
                shown.display()
            )
        })?;
        let mut buf = vec![0u8; 1 << 20];
        sha256_reader(file, &mut buf)
            .map_err(|e: hashing::HashError| anyhow::anyhow!("{}: {e}", shown.display()))
    }

    /// Refuses a release whose `attestations/` or `attestations/rebuilderd/`
    /// is a symlink or not a folder: collect would write through it.
    pub fn check_attestations_dir(&self) -> Result<()> {
        let mut path = self.dir.clone();
        for part in ["attestations", super::ATTESTATIONS_SUBDIR] {
            path.push(part);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => bail!(
                    "{}: is a symlink; the collector writes only into the release's own folders: replace it with a folder",
                    path.display()
                ),
                Ok(meta) if !meta.is_dir() => bail!(
                    "{}: not a folder; move it away so the collector can make the folder",
                    path.display()
                ),
                Ok(_) => {}
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }
}

/// A rebuilderd instance to ask: its name (its folder under
/// attestations/rebuilderd/) and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    pub url: String,
}

/// The instances: the rebuilders file's entries that have a `url`, then
/// each `NAME=URL` (which replaces the address of a listed name). The
/// rebuilders file is read (and checked) here, when one is given.
pub fn instances(rebuilders: Option<&std::path::Path>, extra: &[String]) -> Result<Vec<Instance>> {
    let trust = rebuilders.map(TrustConfig::load).transpose()?;
    let mut list: Vec<Instance> = Vec::new();
    if let Some(trust) = &trust {
        for r in &trust.rebuilders {
            if let Some(url) = &r.url {
                let url = api::base_url(url)
                    .with_context(|| format!("rebuilder `{}`: url", escape_untrusted(&r.name)))?;
                list.push(Instance {
                    name: r.name.clone(),
                    url,
                });
            }
        }
    }
    for pair in extra {
        let Some((name, url)) = pair.split_once('=') else {
            bail!(
                "--instance `{}`: write NAME=URL, e.g. alice=https://rebuilder.alice.example",
                escape_untrusted(pair)
            );
        };
        if !is_plain_name(name)
            || name.starts_with('.')
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            bail!(
                "--instance `{}`: the name must be letters, digits, `-`, `_` and `.` (it names a folder)",
                escape_untrusted(pair)
            );
        }
        let url = api::base_url(url).with_context(|| format!("--instance {name}"))?;
        match list.iter_mut().find(|i| i.name == name) {
            Some(known) => known.url = url,
            None => list.push(Instance {
                name: name.to_owned(),
                url,
            }),
        }
    }
    if list.is_empty() {
        bail!(
            "no instance to ask: give the rebuilders in the file a `url`, or name one with --instance NAME=URL"
        );
    }
    Ok(list)
}
