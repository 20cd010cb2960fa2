//! Writing several private files as one: all of them or none, so a hub and
//! its client never end up holding keys from two different runs.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result, bail};
use tempfile::TempPath;

use crate::Unusable;

/// An error in what the user gave (exit 2): nothing was written.
fn unusable(message: String) -> anyhow::Error {
    Unusable::from(anyhow::anyhow!(message)).into()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes each `(path, bytes)` with mode 0600: every file is staged beside
/// its target first, then all are moved into place; if one move fails, the
/// ones already moved are put back as they were. Without `overwrite`, any
/// existing entry at a target (a dangling symlink too) refuses the lot before
/// anything is written.
pub fn write_all_or_none(files: &[(&Path, &[u8])], overwrite: bool) -> Result<()> {
    let mut existing = Vec::new();
    for (path, _) in files {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(unusable(format!(
                    "{}: is a folder; nothing was written",
                    path.display()
                )));
            }
            Ok(_) => existing.push(path.display().to_string()),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(unusable(format!(
                    "{}: {e}; nothing was written",
                    path.display()
                )));
            }
        }
    }
    if !existing.is_empty() && !overwrite {
        return Err(unusable(format!(
            "{} already exist(s); nothing was written. Pass --force to replace them",
            existing.join(", ")
        )));
    }
    let mut staged = Vec::new();
    for (path, bytes) in files {
        staged.push(stage(path, bytes)?);
    }
    // A second name for each file about to be replaced, to put it back.
    let mut backups: Vec<Option<TempPath>> = Vec::new();
    for (path, _) in files {
        backups.push(match fs::symlink_metadata(path) {
            Ok(_) => Some(
                tempfile::Builder::new()
                    .prefix(".camhub-config-old-")
                    .make_in(parent(path), |backup| fs::hard_link(path, backup))
                    .with_context(|| {
                        format!(
                            "{}: cannot keep the current file; nothing was written",
                            path.display()
                        )
                    })?
                    .into_temp_path(),
            ),
            Err(_) => None,
        });
    }
    for (i, ((path, _), tmp)) in files.iter().zip(&staged).enumerate() {
        let placed = if overwrite {
            fs::rename(tmp, path)
        } else {
            // A link refuses an existing name, so a file that appeared since
            // the check above is not replaced.
            fs::hard_link(tmp, path)
        };
        if let Err(e) = placed {
            let undone = undo(&files[..i], &mut backups);
            return Err(e).with_context(|| match undone {
                Ok(()) => format!(
                    "{}: cannot write; nothing was written (all files are as before)",
                    path.display()
                ),
                Err(why) => format!(
                    "{}: cannot write, and putting back the others failed: {why}",
                    path.display()
                ),
            });
        }
    }
    for tmp in staged {
        if overwrite {
            // Renamed into place: nothing left to remove.
            let _ = tmp.keep();
        }
    }
    Ok(())
}

/// Puts back what the first files' moves replaced.
fn undo(placed: &[(&Path, &[u8])], backups: &mut [Option<TempPath>]) -> Result<(), String> {
    let mut failures = Vec::new();
    for ((path, _), backup) in placed.iter().zip(backups.iter_mut()) {
        let restored = match backup.take() {
            Some(backup) => {
                let result = fs::rename(&backup, path);
                if result.is_ok() {
                    let _ = backup.keep();
                }
                result
            }
            None => fs::remove_file(path),
        };
        if let Err(e) = restored {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

fn stage(path: &Path, bytes: &[u8]) -> Result<TempPath> {
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".camhub-config-")
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "{}: cannot create a file here; nothing was written",
                dir.display()
            )
        })?;
    tmp.as_file()
        .set_permissions(Permissions::from_mode(0o600))
        .and_then(|()| tmp.write_all(bytes))
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| {
            format!(
                "{}: cannot write; nothing was written",
                tmp.path().display()
            )
        })?;
    Ok(tmp.into_temp_path())
}

/// The whole of a regular file of at most `limit` bytes, from one open that
/// does not block (a FIFO is refused, not waited on).
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>> {
    read_regular_unchecked(path, limit).map_err(|e| Unusable::from(e).into())
}

fn read_regular_unchecked(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if !meta.is_file() {
        bail!("{}: not a regular file", path.display());
    }
    if meta.len() > limit {
        bail!(
            "{}: larger than {} MiB; not a clip",
            path.display(),
            limit >> 20
        );
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    File::take(file, limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{}: larger than {} MiB; not a clip",
            path.display(),
            limit >> 20
        );
    }
    Ok(bytes)
}
