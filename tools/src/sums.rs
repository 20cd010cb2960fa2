//! `repro sums DIR`: SHA256SUMS lines for a build folder's artifacts, hashed
//! now from the files, checkable with `sha256sum -c` from inside DIR.

use std::path::Path;

use anyhow::Result;

use crate::compare::BuildFolder;
use crate::hashing;
use crate::layout::Located;

/// The lines to print, or the reasons the folder does not match its manifest.
pub fn sums(dir: &Path, threads: usize) -> Result<Result<Vec<String>, Vec<String>>> {
    let folder = BuildFolder::open(dir)?;
    let mut manifest = folder.manifest.clone();
    manifest.sort_artifacts();
    let mut problems = Vec::new();
    let mut paths = Vec::new();
    let mut listed = Vec::new();
    for artifact in &manifest.artifacts {
        match &folder.artifacts[&artifact.key()].1 {
            Located::Found(path) => {
                paths.push(path.clone());
                listed.push(artifact);
            }
            Located::Missing => problems.push(format!("{}: file is missing", artifact.bin_path)),
        }
    }
    let mut lines = Vec::new();
    for (artifact, hash) in listed
        .into_iter()
        .zip(hashing::sha256_files(&paths, threads))
    {
        match hash {
            Ok(actual) => {
                if let Some(expected) = &artifact.sha256
                    && !expected.eq_ignore_ascii_case(&actual)
                {
                    problems.push(format!(
                        "{}: manifest sha256 {expected} does not match the file, which hashes to {actual}",
                        artifact.bin_path
                    ));
                }
                lines.push(format!("{actual}  {}", artifact.bin_path));
            }
            Err(e) => problems.push(format!("{}: {e}", artifact.bin_path)),
        }
    }
    Ok(if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    })
}
