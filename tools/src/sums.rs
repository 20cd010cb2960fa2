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
    for (artifact, hash) in folder.hash_artifacts(threads)? {
        match hash {
            Ok(actual) => lines.push(sums_line(&actual, &artifact.bin_path)),
            Err(why) => problems.push(why),
        }
    }
    Ok(if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    })
}

/// One line as `sha256sum` writes it: a name with a backslash or a line break
/// is escaped and the line marked with a leading backslash, so that
/// `sha256sum -c` reads the name back exactly. (Manifests cannot name files
/// with other control characters.)
pub fn sums_line(hash: &str, name: &str) -> String {
    if name.contains(['\\', '\n', '\r']) {
        let escaped = name
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        format!("\\{hash}  {escaped}")
    } else {
        format!("{hash}  {name}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_escaped_as_sha256sum_does() {
        assert_eq!(super::sums_line("ab", "t/b"), "ab  t/b");
        assert_eq!(super::sums_line("ab", "t/a\\b"), "\\ab  t/a\\\\b");
    }
}
