//! What camhub-update installed: one JSON file beside the installed binary,
//! `<binary>.camhub-release.json`, read back on the next run to refuse going
//! backwards (the Update Framework's rollback rule) and kept for people who
//! ask what a device runs and who vouched for it.
//!
//! ```json
//! {"schema":"camhub-update-state/1","bin":"camhub-ip","triple":"x86_64-unknown-linux-gnu",
//!  "bin_path":"x86_64-unknown-linux-gnu/camhub-ip","version":"0.2.0","sha256":"<64 hex>",
//!  "source_rev":"<git commit>","manifest_sha256":"<64 hex>","k":2,"confirmed_by":["alice","bob"]}
//! ```
//!
//! It is written before the binary is renamed into place, so it may name a
//! release one step ahead of the binary (a kill in between) but never one
//! behind: its version is the floor a later run compares with.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use repro::hashing::{HashError, read_regular};
use repro::style::escape_untrusted;
use serde::{Deserialize, Serialize};

/// The `schema` of this format.
pub const SCHEMA: &str = "camhub-update-state/1";
/// Appended to the installed binary's path. It does not start with
/// `.camhub-update-`, so no run ever cleans it away as a work file.
pub const SUFFIX: &str = ".camhub-release.json";
/// A record is a few hundred bytes; anything this large is not one.
pub const STATE_LIMIT: u64 = 64 << 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledRelease {
    /// [`SCHEMA`].
    pub schema: String,
    /// The released binary's name (the manifest's `bin`).
    pub bin: String,
    pub triple: String,
    /// Where the binary sits in the release folder (`<triple>/<bin>`).
    pub bin_path: String,
    /// The release's `build.version` (semver).
    pub version: String,
    /// SHA-256 of the installed bytes, which k rebuilders confirmed.
    pub sha256: String,
    /// The git commit the release was built from (`build.source_rev`).
    pub source_rev: String,
    /// SHA-256 of the release's manifest.json: the material the rebuilders' links name.
    pub manifest_sha256: String,
    /// How many confirmations the device required.
    pub k: usize,
    /// The trusted rebuilderd instances whose signed links confirmed `sha256`.
    pub confirmed_by: Vec<String>,
}

/// The record that belongs to the installed binary at `binary`.
pub fn path_for(binary: &Path) -> PathBuf {
    let mut name = binary.as_os_str().to_owned();
    name.push(SUFFIX);
    PathBuf::from(name)
}

impl InstalledRelease {
    /// The record at `path`, or `None` when there is none yet (a binary that
    /// no camhub-update with rebuilders installed). A damaged record is an
    /// error: it is the rollback floor, and guessing it would defeat it.
    pub fn load(path: &Path) -> Result<Option<InstalledRelease>> {
        let shown = escape_untrusted(&path.display().to_string());
        let fix = "it records the installed release; remove it only if you know what is installed, \
                   since without it the next verified release is installed whatever its version";
        let bytes = match read_regular(path, STATE_LIMIT) {
            Ok(bytes) => bytes,
            Err(HashError::Missing) => return Ok(None),
            Err(e) => bail!("{shown}: {e}; {fix}"),
        };
        let state: InstalledRelease = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{shown}: not a {SCHEMA} record ({e}); {fix}"))?;
        if state.schema != SCHEMA {
            bail!(
                "{shown}: schema `{}`, but this camhub-update reads {SCHEMA}; {fix}",
                escape_untrusted(&state.schema)
            );
        }
        if let Err(e) = semver::Version::parse(&state.version) {
            bail!(
                "{shown}: version `{}` is not semver ({e}); {fix}",
                escape_untrusted(&state.version)
            );
        }
        Ok(Some(state))
    }

    /// The record as written: one line of JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).expect("a record always serialises");
        bytes.push(b'\n');
        bytes
    }

    /// How the release at `version` stands to this record, by semver
    /// precedence (build metadata does not order releases).
    pub fn compare(&self, version: &semver::Version) -> Ordering {
        let recorded = semver::Version::parse(&self.version).expect("checked when loaded");
        version.cmp_precedence(&recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: &str) -> InstalledRelease {
        InstalledRelease {
            schema: SCHEMA.into(),
            bin: "camhub-ip".into(),
            triple: "x86_64-unknown-linux-gnu".into(),
            bin_path: "x86_64-unknown-linux-gnu/camhub-ip".into(),
            version: version.into(),
            sha256: "ab".repeat(32),
            source_rev: "cd".repeat(20),
            manifest_sha256: "ef".repeat(32),
            k: 2,
            confirmed_by: vec!["alice".into(), "bob".into()],
        }
    }

    #[test]
    fn reads_back_what_it_writes_and_orders_by_semver_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("camhub-ip"));
        assert_eq!(InstalledRelease::load(&path).unwrap(), None);
        std::fs::write(&path, record("0.10.0").to_bytes()).unwrap();
        let back = InstalledRelease::load(&path).unwrap().unwrap();
        assert_eq!(back, record("0.10.0"));
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert_eq!(back.compare(&v("0.9.9")), Ordering::Less);
        assert_eq!(back.compare(&v("0.10.0+rebuild.2")), Ordering::Equal);
        assert_eq!(back.compare(&v("0.10.0-rc.1")), Ordering::Less);
        assert_eq!(back.compare(&v("0.10.1")), Ordering::Greater);
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("camhub-ip"));
        for bad in [
            b"{\"schema\":".to_vec(),
            record("not semver").to_bytes(),
            String::from_utf8(record("1.0.0").to_bytes())
                .unwrap()
                .replace(SCHEMA, "camhub-update-state/9")
                .into_bytes(),
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = format!("{:#}", InstalledRelease::load(&path).unwrap_err());
            assert!(
                e.contains("camhub-ip.camhub-release.json: ") && e.contains("remove it only if"),
                "{e}"
            );
        }
    }
}
