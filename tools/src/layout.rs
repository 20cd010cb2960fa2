//! Where an artifact's file is inside a build folder, with the manifest treated
//! as hostile input: a manifest may only name the file that a person installing
//! `<triple>/<bin>` from that folder would get, or, in Secluso's layout,
//! a file named `<bin>` somewhere beneath `artifacts/<triple>/`.

use std::path::{Component, Path};

use crate::hashing::HashError;
use crate::manifest::Artifact;
use crate::matrix::is_plain_name;
use crate::style::escape_untrusted;

/// Secluso's newer pipeline nests the triples under this folder.
const SECLUSO_ARTIFACTS_DIR: &str = "artifacts";

/// Whether the artifact is in Secluso's newer `artifacts/<triple>/.../<bin>`
/// layout, whose compare.bash requires a recorded sha256 and refuses any
/// symlink on the way to the file.
pub fn is_secluso_layout(artifact: &Artifact) -> bool {
    artifact
        .bin_path
        .strip_prefix(SECLUSO_ARTIFACTS_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Checks the shape of an artifact's `bin_path`. The file itself is checked
/// when it is opened, once (see `hashing::open_beneath`). Errors are reasons
/// the manifest is unusable.
pub fn check(artifact: &Artifact) -> Result<(), String> {
    let bin_path = artifact.bin_path.as_str();
    let shown = escape_untrusted(bin_path);
    let path = Path::new(bin_path);
    if bin_path.is_empty() {
        return Err("bin_path is empty".into());
    }
    if path.is_absolute() {
        return Err(format!(
            "bin_path `{shown}` is absolute; it must be relative to the build folder"
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "bin_path `{shown}` climbs out of the build folder with `..`"
        ));
    }
    for (field, value) in [("target", &artifact.target), ("bin", &artifact.bin)] {
        if !is_plain_name(value) {
            return Err(format!(
                "{field} `{}` is not a plain file name",
                escape_untrusted(value)
            ));
        }
    }
    let expected = format!("{}/{}", artifact.target, artifact.bin);
    if bin_path == expected || is_secluso_path(bin_path, &artifact.target, &artifact.bin) {
        return Ok(());
    }
    // Any other path would let a manifest vouch for one file while the folder
    // ships another under the name people install.
    Err(format!(
        "bin_path `{shown}` does not name the artifact's own file; it must be `{}` (or, in Secluso's layout, `{SECLUSO_ARTIFACTS_DIR}/{}/<folders>/{}`)",
        escape_untrusted(&expected),
        escape_untrusted(&artifact.target),
        escape_untrusted(&artifact.bin)
    ))
}

/// Secluso's compare.bash rule (`validate_manifest_bin_path`): beneath
/// `artifacts/<target>/`, at any depth (its deploy pipeline writes
/// `artifacts/<triple>/bundle/appimage/<file>`), a file whose name is the
/// artifact's `bin`. Every folder on the way must be a plain name too.
fn is_secluso_path(bin_path: &str, target: &str, bin: &str) -> bool {
    let Some(rest) = bin_path
        .strip_prefix(SECLUSO_ARTIFACTS_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_prefix(target))
        .and_then(|r| r.strip_prefix('/'))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    parts.last() == Some(&bin) && parts.iter().all(|part| is_plain_name(part))
}

/// Why opening `bin_path` under `root` was refused as unsafe, in words. Only
/// for the message: the refusal itself came from the single open.
pub fn describe_unsafe(root: &Path, bin_path: &str, error: &HashError) -> String {
    let shown = escape_untrusted(bin_path);
    match error {
        HashError::Symlink => {
            let mut at = root.to_path_buf();
            for part in Path::new(bin_path).iter() {
                at.push(part);
                if at
                    .symlink_metadata()
                    .is_ok_and(|m| m.file_type().is_symlink())
                {
                    let rel = at.strip_prefix(root).unwrap_or(&at).display().to_string();
                    return format!(
                        "bin_path `{shown}` passes through the symlink `{}`; Secluso's artifacts/ layout allows none",
                        escape_untrusted(&rel)
                    );
                }
            }
            format!(
                "bin_path `{shown}` passes through a symlink; Secluso's artifacts/ layout allows none"
            )
        }
        _ => match root.join(bin_path).canonicalize() {
            Ok(real) if !real.starts_with(root) => format!(
                "bin_path `{shown}` resolves through a symlink to {}, outside the build folder",
                escape_untrusted(&real.display().to_string())
            ),
            _ => {
                format!("bin_path `{shown}` resolves through a symlink to outside the build folder")
            }
        },
    }
}

/// Files under `root` (walked without following symlinks) that are neither
/// the manifest nor one of `described` (bin_paths relative to `root`): people
/// may install them believing they were checked, so they are worth a warning.
/// Known companions of a release (see [`is_companion`]) are not among them.
pub fn undescribed_files<'a>(
    root: &Path,
    described: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    other_files(root, described).0
}

/// The files [`undescribed_files`] leaves out, then the known companions, as
/// two lists.
pub fn other_files<'a>(
    root: &Path,
    described: impl IntoIterator<Item = &'a str>,
) -> (Vec<String>, Vec<String>) {
    let described: std::collections::BTreeSet<&str> = described.into_iter().collect();
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|entry| entry.ok())
        .filter(|entry| !entry.file_type().is_dir())
        .filter_map(|entry| {
            let rel = entry.path().strip_prefix(root).ok()?.display().to_string();
            Some((rel, entry.file_type().is_file()))
        })
        .filter(|(rel, _)| {
            rel != crate::manifest::MANIFEST_FILE && !described.contains(rel.as_str())
        })
        .fold(
            (Vec::new(), Vec::new()),
            |(mut other, mut companions), (rel, regular)| {
                if regular && is_companion(&rel) {
                    companions.push(rel);
                } else {
                    other.push(rel);
                }
                (other, companions)
            },
        )
}

/// What README tells a release to carry beside its artifacts: `SHA256SUMS`,
/// and in `attestations/` the rebuilders' statements (`.intoto.json`), their
/// SSH signatures (`.intoto.json.sig`) and DSSE envelopes (`.intoto.jsonl`).
/// `verify` checks those, so compare need not warn about them. Only regular
/// files count; anything else is still reported.
pub fn is_companion(rel: &str) -> bool {
    if rel == "SHA256SUMS" {
        return true;
    }
    rel.strip_prefix("attestations/")
        .filter(|name| is_plain_name(name))
        .is_some_and(|name| {
            [".intoto.json", ".intoto.json.sig", ".intoto.jsonl"]
                .iter()
                .any(|ext| name.len() > ext.len() && name.ends_with(ext))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(bin_path: &str) -> Artifact {
        Artifact {
            package: "p".into(),
            target: "t".into(),
            bin: "b".into(),
            bin_path: bin_path.into(),
            sha256: None,
            crate_name: "c".into(),
            version: "1".into(),
            crate_lock_sha256: "l".into(),
            rust_digest: "d".into(),
        }
    }

    #[test]
    fn accepts_both_layouts() {
        assert_eq!(check(&artifact("t/b")), Ok(()));
        assert_eq!(check(&artifact("artifacts/t/b")), Ok(()));
        assert_eq!(check(&artifact("artifacts/t/bundle/appimage/b")), Ok(()));
        assert!(is_secluso_layout(&artifact("artifacts/t/b")));
        assert!(!is_secluso_layout(&artifact("t/b")));
    }

    #[test]
    fn refuses_paths_that_escape_or_point_elsewhere() {
        for (bin_path, says) in [
            ("/etc/passwd", "is absolute"),
            ("t/../b", "climbs out"),
            ("t/other", "does not name the artifact's own file"),
            (
                "artifacts/t/x/other",
                "does not name the artifact's own file",
            ),
            ("artifacts/t//b", "does not name the artifact's own file"),
            ("artifacts/t/./b", "does not name the artifact's own file"),
            (
                "artifacts/t/.hidden/b",
                "does not name the artifact's own file",
            ),
            ("artifacts/u/b", "does not name the artifact's own file"),
            ("x/t/b", "does not name the artifact's own file"),
            ("", "is empty"),
        ] {
            let err = check(&artifact(bin_path)).unwrap_err();
            assert!(err.contains(says), "{bin_path}: {err}");
        }
        assert!(is_companion("SHA256SUMS"));
        assert!(is_companion("attestations/alice.intoto.jsonl"));
        assert!(!is_companion("attestations/.intoto.json"));
        assert!(!is_companion("attestations/x/alice.intoto.json"));
        assert!(!is_companion("t/SHA256SUMS"));
        let mut a = artifact("../b");
        a.target = "..".into();
        assert!(check(&a).is_err());
    }
}
