//! Writing a file so that readers see the old content or the new, never half.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it
/// over `path` with permissions `mode`. On any error the temporary file is
/// removed and `path` is untouched.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".repro-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a temporary file here", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().set_permissions(Permissions::from_mode(mode)))
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("{}: cannot write", tmp.path().display()))?;
    tmp.persist(path).map_err(|e| e.error).with_context(|| {
        format!(
            "{}: cannot rename the finished file into place",
            path.display()
        )
    })?;
    Ok(())
}
