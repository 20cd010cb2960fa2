//! Replacing an installed binary so that every step, and a kill between any
//! two, leaves a working binary at the install path and a rollback target.
//!
//! All work files live beside the binary (one filesystem, so renames are
//! atomic) under fixed names that start with `.camhub-update-`; the folder is
//! locked (flock) while we work, and each run first cleans what an
//! interrupted run left:
//!
//! - `.camhub-update-new.<bin>`: a staged copy not yet installed; removed.
//! - `.camhub-update-prev.<bin>`: the binary being displaced, hard-linked
//!   before the swap. Still the installed file: removed. Otherwise the swap
//!   happened and only the move to `<bin>.old` is missing: moved there.
//! - `.camhub-update-state.<bin>`: a record of the installed release not yet
//!   renamed into place; removed (the record it would have replaced stands).
//! - `.camhub-update-release.<bin>/`: the private copy of the release that
//!   the rebuilders' links were checked against; removed.
//! - anything else with the prefix (temporary folders of older versions): removed.
//!
//! The record of the installed release, `<bin>.camhub-release.json`
//! (crate::state), sits beside the binary too but outside the prefix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use repro::style::escape_untrusted;
use sha2::{Digest, Sha256};

const PREFIX: &str = ".camhub-update-";
const STAGED: &str = ".camhub-update-new.";
const DISPLACED: &str = ".camhub-update-prev.";
const STATE_TMP: &str = ".camhub-update-state.";
const SNAPSHOT: &str = ".camhub-update-release.";

/// A path made safe to print.
pub fn shown(path: &Path) -> String {
    escape_untrusted(&path.display().to_string())
}

/// The file that gets replaced, with its work files.
pub struct Target {
    /// The binary itself: `--install`, or what it links to.
    pub path: PathBuf,
    pub old: PathBuf,
    /// The record of what is installed ([`update::state`]).
    pub state: PathBuf,
    staged: PathBuf,
    displaced: PathBuf,
    state_tmp: PathBuf,
    snapshot: PathBuf,
    dir: PathBuf,
    /// Held for the life of the target: no two updates work in one folder at once.
    _lock: File,
}

impl Target {
    /// Resolves `install` (a symlink is followed to the binary it names, which
    /// is what gets replaced; the link itself stays), locks its folder and
    /// cleans what an interrupted run left there. Cleaning steps are written
    /// to `out`.
    pub fn open(install: &Path, out: &mut dyn Write) -> Result<Target> {
        let path = match fs::symlink_metadata(install) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(install).with_context(|| {
                    format!(
                        "{}: a symbolic link to nothing usable; pass --install with the binary's real path",
                        shown(install)
                    )
                })?
            }
            Ok(_) => install.to_owned(),
            Err(e) if e.kind() == ErrorKind::NotFound => install.to_owned(),
            Err(e) => bail!("{}: {e}", shown(install)),
        };
        if let Ok(meta) = fs::metadata(&path)
            && !meta.is_file()
        {
            bail!(
                "{}: not a regular file; --install names the binary to replace",
                shown(&path)
            );
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: --install names no file", shown(install)))?
            .to_owned();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let lock = lock_dir(&dir)?;
        let target = Target {
            old: with_suffix(&path, ".old"),
            state: update::state::path_for(&path),
            staged: dir.join(format!("{STAGED}{name}")),
            displaced: dir.join(format!("{DISPLACED}{name}")),
            state_tmp: dir.join(format!("{STATE_TMP}{name}")),
            snapshot: dir.join(format!("{SNAPSHOT}{name}")),
            path,
            dir,
            _lock: lock,
        };
        target.clean(out)?;
        Ok(target)
    }

    /// Removes or finishes what interrupted runs left in the folder.
    fn clean(&self, out: &mut dyn Write) -> Result<()> {
        let entries = fs::read_dir(&self.dir)
            .with_context(|| format!("{}: cannot list", shown(&self.dir)))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("{}: cannot list", shown(&self.dir)))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !name.starts_with(PREFIX) {
                continue;
            }
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)
                .with_context(|| format!("{}: cannot inspect", shown(&path)))?;
            if let Some(bin) = name.strip_prefix(DISPLACED)
                && meta.is_file()
            {
                let installed = self.dir.join(bin);
                let still_installed = fs::symlink_metadata(&installed)
                    .is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()));
                if !still_installed {
                    let old = with_suffix(&installed, ".old");
                    fs::rename(&path, &old).with_context(|| {
                        format!("{}: cannot move to {}", shown(&path), shown(&old))
                    })?;
                    writeln!(
                        out,
                        "finished an interrupted update: the previous binary is kept at {}",
                        shown(&old)
                    )?;
                    continue;
                }
            }
            let removed = if meta.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.with_context(|| {
                format!(
                    "{}: cannot remove a leftover of an interrupted update",
                    shown(&path)
                )
            })?;
            writeln!(
                out,
                "removed {}, left by an interrupted update",
                shown(&path)
            )?;
        }
        Ok(())
    }

    /// Copies `source` (an opened, type-checked release file) beside the
    /// binary, hashing exactly the bytes written. Returns the staged file's
    /// SHA-256; the caller compares it and then installs or discards.
    pub fn stage(&self, source: &mut File) -> Result<Staged<'_>> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(&self.staged)
            .with_context(|| format!("{}: cannot create", shown(&self.staged)))?;
        let mut staged = Staged {
            path: &self.staged,
            hash: String::new(),
            installed: false,
        };
        staged.hash = copy_hashing(source, &mut file)
            .and_then(|hash| {
                file.set_permissions(fs::Permissions::from_mode(0o755))?;
                file.sync_all()?;
                Ok(hash)
            })
            .with_context(|| format!("{}: cannot write", shown(&self.staged)))?;
        Ok(staged)
    }

    /// A private copy of the release for judging the rebuilders' links: its
    /// manifest.json is `manifest` (the bytes this run parsed) and its
    /// `bin_path` is a hard link to the staged copy, so the verdict is about
    /// exactly what gets installed, however the release folder changes
    /// meanwhile. Removed when dropped.
    pub fn snapshot(
        &self,
        manifest: &[u8],
        bin_path: &str,
        staged: &Staged<'_>,
    ) -> Result<Snapshot> {
        let snapshot = Snapshot {
            path: self.snapshot.clone(),
        };
        let binary = snapshot.path.join(bin_path);
        fs::create_dir(&snapshot.path)
            .and_then(|()| fs::write(snapshot.path.join("manifest.json"), manifest))
            .and_then(|()| fs::create_dir_all(binary.parent().unwrap_or(&snapshot.path)))
            .and_then(|()| fs::hard_link(staged.path, &binary))
            .with_context(|| format!("{}: cannot create", shown(&snapshot.path)))?;
        Ok(snapshot)
    }

    /// Replaces the record of the installed release with `bytes`: a
    /// temporary file, synced, renamed over the record, and the folder
    /// synced, so a reader (or a crash) sees the old record or the new one,
    /// and the new one is on disk before anything renames the binary.
    pub fn record(&self, bytes: &[u8]) -> Result<()> {
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&self.state_tmp)
            .and_then(|mut file| {
                file.write_all(bytes)?;
                file.sync_all()
            });
        if let Err(e) = written {
            let _ = fs::remove_file(&self.state_tmp);
            return Err(e).with_context(|| format!("{}: cannot write", shown(&self.state_tmp)));
        }
        if let Err(e) = fs::rename(&self.state_tmp, &self.state) {
            let _ = fs::remove_file(&self.state_tmp);
            return Err(e).with_context(|| {
                format!(
                    "{}: cannot record the release (nothing was installed)",
                    shown(&self.state)
                )
            });
        }
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .with_context(|| format!("{}: cannot sync the folder", shown(&self.dir)))
    }

    /// Puts back the record `previous` (or none) after the binary could not
    /// be installed, so the record names what is installed. Best effort: if
    /// this fails too, the record names the newer release, which only makes
    /// the next run stricter.
    pub fn restore_record(&self, previous: Option<&[u8]>) {
        match previous {
            Some(bytes) => {
                let _ = self.record(bytes);
            }
            None => {
                let _ = fs::remove_file(&self.state);
                self.sync_dir();
            }
        }
    }

    /// Moves the staged binary into place. Returns whether it replaced one,
    /// which the caller then keeps as `<bin>.old` with [`Target::keep_displaced`];
    /// an error means the installed binary is unchanged.
    pub fn install(&self, mut staged: Staged<'_>) -> Result<bool> {
        let kept = fs::symlink_metadata(&self.path).is_ok();
        if kept {
            fs::hard_link(&self.path, &self.displaced).with_context(|| {
                format!(
                    "{}: cannot keep a link to the installed binary; nothing was changed",
                    shown(&self.displaced)
                )
            })?;
        }
        if let Err(e) = fs::rename(staged.path, &self.path) {
            if kept {
                // Only a second name of the installed binary: safe to drop.
                let _ = fs::remove_file(&self.displaced);
            }
            return Err(e).with_context(|| {
                format!(
                    "{}: cannot install (the installed binary and {} are unchanged)",
                    shown(&self.path),
                    shown(&self.old)
                )
            });
        }
        staged.installed = true;
        self.sync_dir();
        Ok(kept)
    }

    /// Swaps the binary with `<bin>.old`.
    pub fn rollback(&self) -> Result<()> {
        match fs::symlink_metadata(&self.old) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => bail!(
                "{}: not a regular file; nothing to roll back to",
                shown(&self.old)
            ),
            Err(_) => bail!("{}: nothing to roll back to", shown(&self.old)),
        }
        let kept = fs::symlink_metadata(&self.path).is_ok();
        if kept {
            fs::hard_link(&self.path, &self.displaced).with_context(|| {
                format!(
                    "{}: cannot keep a link to the installed binary; nothing was changed",
                    shown(&self.displaced)
                )
            })?;
        }
        if let Err(e) = fs::rename(&self.old, &self.path) {
            if kept {
                let _ = fs::remove_file(&self.displaced);
            }
            return Err(e).with_context(|| {
                format!(
                    "{}: cannot move {} into place; nothing was changed",
                    shown(&self.path),
                    shown(&self.old)
                )
            });
        }
        self.sync_dir();
        if kept {
            self.keep_displaced()?;
        }
        Ok(())
    }

    /// The last step of a swap: the displaced binary becomes `<bin>.old`. On
    /// failure it stays where it is (it may be the only copy), and the next
    /// run finishes the move.
    pub fn keep_displaced(&self) -> Result<()> {
        fs::rename(&self.displaced, &self.old).with_context(|| {
            format!(
                "{}: cannot keep the replaced binary there; it is at {}, and the next run of camhub-update moves it",
                shown(&self.old),
                shown(&self.displaced)
            )
        })?;
        self.sync_dir();
        Ok(())
    }

    fn sync_dir(&self) {
        // Durability of the renames; a folder that cannot be synced is no reason to fail.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
    }
}

/// A staged copy, removed unless installed.
pub struct Staged<'a> {
    path: &'a Path,
    /// The SHA-256 of the bytes written to it.
    pub hash: String,
    installed: bool,
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if !self.installed {
            let _ = fs::remove_file(self.path);
        }
    }
}

/// The private copy of a release that [`Target::snapshot`] made.
pub struct Snapshot {
    pub path: PathBuf,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An exclusive flock on the folder itself, so no lock file is left behind.
fn lock_dir(dir: &Path) -> Result<File> {
    let handle =
        File::open(dir).with_context(|| format!("{}: cannot open the folder", shown(dir)))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    if unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        bail!(
            "{}: cannot lock the folder ({e}); is another camhub-update running?",
            shown(dir)
        );
    }
    Ok(handle)
}

fn copy_hashing(source: &mut File, dest: &mut File) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        dest.write_all(&buf[..n])?;
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
