//! The build input of a rebuilderd job: the file a worker downloads as the
//! source package's `url` and hands to the backend as its one argument.
//!
//! It is the release's manifest.json, byte for byte, inside a small envelope
//! that names the job's triple, so the backend never guesses the triple from
//! the other files a worker downloads (the originals, which it must not read).
//! Its bytes are a pure function of (manifest.json, triple): a verifier makes
//! them again from the release it holds and compares their hash with the
//! material an instance's signed link names, which ties the link to exactly
//! this release and triple.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::hashing::sha256_bytes;
use crate::manifest::Manifest;
use crate::style::escape_untrusted;

/// The `schema` of this format.
pub const SCHEMA: &str = "camhub-rebuild-input/1";
/// An input larger than this is refused: it is a manifest and a few names.
pub const INPUT_LIMIT: u64 = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebuildInput {
    pub schema: String,
    /// The one triple this job rebuilds.
    pub triple: String,
    /// sha256 of `manifest`'s bytes.
    pub manifest_sha256: String,
    /// The release's manifest.json, exactly as published.
    pub manifest: String,
}

/// The input's file name inside `<release>/rebuilderd/`. rebuilderd names
/// downloads by URL basename, so it must differ from every artifact's name:
/// binaries have no `.json` suffix.
pub fn file_name(triple: &str) -> String {
    format!("{triple}.json")
}

/// The input bytes for `triple` of the release whose manifest.json is
/// `manifest_bytes`. Refuses a manifest a rebuilder could not act on: no
/// version, no source revision, or no artifact for the triple.
pub fn render(manifest_bytes: &[u8], triple: &str) -> Result<Vec<u8>> {
    let manifest = Manifest::parse(manifest_bytes)?;
    rebuildable(&manifest, triple)?;
    let text = std::str::from_utf8(manifest_bytes).context("manifest.json is not UTF-8")?;
    let input = RebuildInput {
        schema: SCHEMA.to_owned(),
        triple: triple.to_owned(),
        manifest_sha256: sha256_bytes(manifest_bytes),
        manifest: text.to_owned(),
    };
    let mut bytes = serde_json::to_vec(&input).expect("an input always serialises");
    bytes.push(b'\n');
    Ok(bytes)
}

/// Why a manifest cannot be rebuilt for `triple`, as an error naming the fix.
pub fn rebuildable(manifest: &Manifest, triple: &str) -> Result<()> {
    if manifest.build.version.is_none() {
        bail!(
            "the manifest names no release version (build.version); make the release with a repro that writes it (repro build, or repro manifest --release-version)"
        );
    }
    match manifest.build.source_rev.as_deref() {
        Some(rev) if is_commit_hash(rev) => {}
        Some(rev) => bail!(
            "the manifest's build.source_rev `{}` is not a git commit hash (40 or 64 lowercase hex)",
            escape_untrusted(rev)
        ),
        None => bail!(
            "the manifest names no source revision (build.source_rev): it was built from a tree with uncommitted changes, which nobody can rebuild; commit, then build the release again"
        ),
    }
    if !manifest.artifacts.iter().any(|a| a.target == triple) {
        bail!(
            "the manifest has no artifact for {}",
            escape_untrusted(triple)
        );
    }
    Ok(())
}

/// A full git commit hash: SHA-1 (40) or SHA-256 (64) lowercase hex.
pub fn is_commit_hash(rev: &str) -> bool {
    matches!(rev.len(), 40 | 64) && rev.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Reads an input back: the envelope, its hash and its manifest.
pub fn parse(bytes: &[u8]) -> Result<(RebuildInput, Manifest)> {
    let input: RebuildInput = serde_json::from_slice(bytes)
        .map_err(|e| anyhow::anyhow!("not a camhub rebuild input ({SCHEMA}): {e}"))?;
    if input.schema != SCHEMA {
        bail!(
            "schema `{}`, but this repro reads {SCHEMA}",
            escape_untrusted(&input.schema)
        );
    }
    if sha256_bytes(input.manifest.as_bytes()) != input.manifest_sha256 {
        bail!("manifest_sha256 does not match the manifest it carries");
    }
    let manifest = Manifest::parse(input.manifest.as_bytes()).context("the manifest it carries")?;
    rebuildable(&manifest, &input.triple)?;
    Ok((input, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(version: Option<&str>, rev: Option<&str>) -> Vec<u8> {
        let text = serde_json::json!({
            "build": {"target": "ipcamera", "profile": "camerahub", "run_id": "1",
                      "timestamp": "2026-01-01T00:00:00Z", "version": version, "source_rev": rev},
            "artifacts": [{"package": "ip_camera_hub", "target": "x86_64-unknown-linux-gnu",
                           "bin": "camhub-ip", "bin_path": "x86_64-unknown-linux-gnu/camhub-ip",
                           "crate": "camera_hub", "version": "0.1.0",
                           "crate_lock_sha256": "00", "rust_digest": "rustc:1"}]
        });
        serde_json::to_vec_pretty(&text).unwrap()
    }

    const REV: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn renders_deterministically_and_reads_back() {
        let m = manifest(Some("0.2.0"), Some(REV));
        let a = render(&m, "x86_64-unknown-linux-gnu").unwrap();
        assert_eq!(a, render(&m, "x86_64-unknown-linux-gnu").unwrap());
        let (input, manifest) = parse(&a).unwrap();
        assert_eq!(input.triple, "x86_64-unknown-linux-gnu");
        assert_eq!(input.manifest.as_bytes(), &m[..]);
        assert_eq!(manifest.build.source_rev.as_deref(), Some(REV));
    }

    #[test]
    fn refuses_what_nobody_can_rebuild() {
        let t = "x86_64-unknown-linux-gnu";
        let no_rev = render(&manifest(Some("0.2.0"), None), t).unwrap_err();
        assert!(format!("{no_rev:#}").contains("uncommitted"), "{no_rev:#}");
        let no_version = render(&manifest(None, Some(REV)), t).unwrap_err();
        assert!(format!("{no_version:#}").contains("build.version"));
        let short = render(&manifest(Some("0.2.0"), Some("abc123")), t).unwrap_err();
        assert!(format!("{short:#}").contains("not a git commit hash"));
        let other = render(
            &manifest(Some("0.2.0"), Some(REV)),
            "aarch64-unknown-linux-gnu",
        );
        assert!(other.is_err());
    }

    #[test]
    fn a_carried_manifest_that_was_edited_is_refused() {
        let m = manifest(Some("0.2.0"), Some(REV));
        let bytes = render(&m, "x86_64-unknown-linux-gnu").unwrap();
        let edited = String::from_utf8(bytes).unwrap().replace("0.2.0", "0.3.0");
        let e = parse(edited.as_bytes()).unwrap_err();
        assert!(format!("{e:#}").contains("manifest_sha256"), "{e:#}");
    }
}
