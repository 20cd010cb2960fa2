//! The files `repro rebuilderd collect` stored under a release's
//! attestations/rebuilderd/, listed without trusting their shape: no
//! symlink followed, depth and count bounded, in path order.

use std::fs;
use std::path::Path;

use anyhow::{Result, bail};

/// Folders deeper than this under attestations/rebuilderd/ are not read: the
/// collector writes `<instance>/<triple>/<bin>.link`, depth 3.
pub const MAX_DEPTH: usize = 4;
/// More entries than this under attestations/rebuilderd/ make the release
/// unusable input: a few instances times a few dozen binaries is expected.
pub const MAX_FILES: usize = 10_000;

/// What one file under attestations/rebuilderd/ is.
pub enum Entry {
    /// A file, by its path under attestations/rebuilderd/.
    File(String),
    /// Something never read, and why.
    Refused(String, String),
}

/// The entries under `root`, bounded: no symlink followed, depth limited,
/// and at most [`MAX_FILES`] directory entries read in all (each folder is
/// read in full before it is sorted, so the bound is on reading, not on
/// what is kept).
pub fn walk(root: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut budget = MAX_FILES;
    visit(root, root, 1, &mut budget, &mut entries)?;
    Ok(entries)
}

fn visit(
    root: &Path,
    dir: &Path,
    depth: usize,
    budget: &mut usize,
    entries: &mut Vec<Entry>,
) -> Result<()> {
    let rel = |path: &Path| {
        path.strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) => {
            entries.push(Entry::Refused(
                rel(dir),
                format!("cannot list the folder: {e}"),
            ));
            return Ok(());
        }
    };
    let mut children = Vec::new();
    for child in listing {
        if *budget == 0 {
            bail!(
                "{}: more than {MAX_FILES} entries; the collector stores one file per instance and binary, so this is not a release's attestations",
                root.display()
            );
        }
        *budget -= 1;
        match child {
            Ok(child) => children.push(child),
            Err(e) => entries.push(Entry::Refused(
                rel(dir),
                format!("cannot list the folder: {e}"),
            )),
        }
    }
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let path = child.path();
        // The entry's own type: a symlink is seen as one, never followed.
        match child.file_type() {
            Err(e) => entries.push(Entry::Refused(rel(&path), format!("cannot read: {e}"))),
            Ok(kind) if kind.is_symlink() => entries.push(Entry::Refused(
                rel(&path),
                "a symlink, not followed".to_owned(),
            )),
            Ok(kind) if kind.is_dir() && depth >= MAX_DEPTH => entries.push(Entry::Refused(
                rel(&path),
                format!("a folder nested deeper than {MAX_DEPTH} levels, not read"),
            )),
            Ok(kind) if kind.is_dir() => visit(root, &path, depth + 1, budget, entries)?,
            Ok(_) => entries.push(Entry::File(rel(&path))),
        }
    }
    Ok(())
}
