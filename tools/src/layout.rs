//! Where an artifact's file is inside a build folder, with the manifest treated
//! as hostile input: a manifest may only name the file that a person installing
//! `<triple>/<bin>` from that folder would get.

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use crate::manifest::Artifact;
use crate::matrix::is_plain_name;

/// Secluso's newer pipeline nests the triples under this folder.
const SECLUSO_ARTIFACTS_DIR: &str = "artifacts";

/// The outcome of resolving a `bin_path` that passed the shape checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// The canonical path of the file, inside the build folder.
    Found(PathBuf),
    /// Nothing at that path (a FAIL, not unusable input: the manifest itself is sound).
    Missing,
}

/// Checks an artifact's `bin_path` and finds its file under `root`, which
/// must already be canonical. Errors are reasons the manifest is unusable.
pub fn locate(root: &Path, artifact: &Artifact) -> Result<Located, String> {
    let bin_path = artifact.bin_path.as_str();
    let path = Path::new(bin_path);
    if bin_path.is_empty() {
        return Err("bin_path is empty".into());
    }
    if path.is_absolute() {
        return Err(format!(
            "bin_path `{bin_path}` is absolute; it must be relative to the build folder"
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "bin_path `{bin_path}` climbs out of the build folder with `..`"
        ));
    }
    for (field, value) in [("target", &artifact.target), ("bin", &artifact.bin)] {
        if !is_plain_name(value) {
            return Err(format!("{field} `{value}` is not a plain file name"));
        }
    }
    let expected = format!("{}/{}", artifact.target, artifact.bin);
    let secluso = format!("{SECLUSO_ARTIFACTS_DIR}/{expected}");
    // Any other path would let a manifest vouch for one file while the folder
    // ships another under the name people install.
    if bin_path != expected && bin_path != secluso {
        return Err(format!(
            "bin_path `{bin_path}` does not name the artifact's own file; it must be `{expected}` (or `{secluso}` in Secluso's layout)"
        ));
    }
    match root.join(path).canonicalize() {
        Ok(real) if real.starts_with(root) => Ok(Located::Found(real)),
        Ok(real) => Err(format!(
            "bin_path `{bin_path}` resolves through a symlink to {}, outside the build folder",
            real.display()
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Located::Missing),
        Err(e) => Err(format!("bin_path `{bin_path}` cannot be resolved: {e}")),
    }
}

/// Files under `root` (walked without following symlinks) that are neither
/// the manifest nor one of `described` (bin_paths relative to `root`): people
/// may install them believing they were checked, so they are worth a warning.
pub fn undescribed_files<'a>(
    root: &Path,
    described: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let described: std::collections::BTreeSet<&str> = described.into_iter().collect();
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|entry| entry.ok())
        .filter(|entry| !entry.file_type().is_dir())
        .filter_map(|entry| Some(entry.path().strip_prefix(root).ok()?.display().to_string()))
        .filter(|rel| rel != crate::manifest::MANIFEST_FILE && !described.contains(rel.as_str()))
        .collect()
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
    fn accepts_both_layouts_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("t")).unwrap();
        std::fs::write(root.join("t/b"), b"x").unwrap();
        assert_eq!(
            locate(&root, &artifact("t/b")),
            Ok(Located::Found(root.join("t/b")))
        );
        assert_eq!(
            locate(&root, &artifact("artifacts/t/b")),
            Ok(Located::Missing)
        );
    }

    #[test]
    fn refuses_paths_that_escape_or_point_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let root = root.canonicalize().unwrap();
        std::fs::write(dir.path().join("outside"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("t")).unwrap();
        for (bin_path, says) in [
            ("/etc/passwd", "is absolute"),
            ("t/../b", "climbs out"),
            ("t/other", "does not name the artifact's own file"),
            ("", "is empty"),
        ] {
            let err = locate(&root, &artifact(bin_path)).unwrap_err();
            assert!(err.contains(says), "{bin_path}: {err}");
        }
        std::fs::remove_file(root.join("t")).unwrap();
        std::fs::create_dir(root.join("t")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("t/b")).unwrap();
        let err = locate(&root, &artifact("t/b")).unwrap_err();
        assert!(err.contains("outside the build folder"), "{err}");
        let mut a = artifact("../b");
        a.target = "..".into();
        assert!(locate(&root, &a).is_err());
    }
}
