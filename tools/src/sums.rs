//! `repro sums DIR`: SHA256SUMS lines for a build folder's artifacts, hashed
//! now from the files, checkable with `sha256sum -c` from inside DIR.

use std::path::Path;

use anyhow::Result;

use crate::compare::BuildFolder;

/// The lines to print, or the reasons the folder does not match its manifest.
pub fn sums(dir: &Path, threads: usize) -> Result<Result<Vec<String>, Vec<String>>> {
    let folder = BuildFolder::open(dir)?;
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (artifact, hash) in folder.hash_artifacts(threads) {
        match hash {
            Ok(actual) => lines.push(format!("{actual}  {}", artifact.bin_path)),
            Err(why) => problems.push(why),
        }
    }
    Ok(if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    })
}
