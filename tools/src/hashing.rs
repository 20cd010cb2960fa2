//! SHA-256 of files: streamed in 1 MiB reads (memory flat in file size),
//! many files at once across cores. sha2 picks its SHA-NI code path at run time
//! where the CPU has it.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

const READ_SIZE: usize = 1 << 20;

/// Why a file could not be hashed; shown to the user as a FAIL line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashError {
    Missing,
    NotRegularFile,
    /// Larger than the reader's bound (`limit` bytes).
    TooLarge {
        limit: u64,
    },
    Io(String),
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashError::Missing => f.write_str("file is missing"),
            HashError::NotRegularFile => f.write_str("not a regular file"),
            HashError::TooLarge { limit } => write!(f, "larger than {} MiB", limit >> 20),
            HashError::Io(e) => write!(f, "cannot read: {e}"),
        }
    }
}

/// Opens a regular file for reading. The type is checked on the opened
/// handle, so the file cannot be swapped for something else between check and
/// read; the open does not block, so a FIFO planted in a build folder cannot
/// hang us.
pub fn open_regular(path: &Path) -> Result<(File, u64), HashError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => HashError::Missing,
            _ => HashError::Io(e.to_string()),
        })?;
    let meta = file.metadata().map_err(|e| HashError::Io(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(HashError::NotRegularFile);
    }
    Ok((file, meta.len()))
}

/// Hex SHA-256 of a regular file (see [`open_regular`]).
pub fn sha256_file(path: &Path) -> Result<String, HashError> {
    let (mut file, _) = open_regular(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(HashError::Io(e.to_string())),
        }
    }
    Ok(to_hex(&hasher.finalize()))
}

/// The whole content of a regular file of at most `limit` bytes, from one
/// open (see [`open_regular`]). A file that grows past the bound while it is
/// read is refused too.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, HashError> {
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(HashError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| HashError::Io(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(HashError::TooLarge { limit });
    }
    Ok(bytes)
}

pub fn sha256_bytes(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Hashes every path on a pool of `threads` workers (at least one) that take
/// the next file from a shared counter, so big and small files balance out.
/// Results come back in the order of `paths`.
pub fn sha256_files(paths: &[PathBuf], threads: usize) -> Vec<Result<String, HashError>> {
    let results: Vec<Mutex<Option<Result<String, HashError>>>> =
        paths.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = threads.clamp(1, paths.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let hash = sha256_file(path);
                    *results[i]
                        .lock()
                        .expect("no worker panics while holding a slot") = Some(hash);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .expect("slot lock")
                .expect("every slot was filled")
        })
        .collect()
}

/// Worker threads for hashing: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_and_streaming_across_read_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(
            sha256_file(&empty).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Larger than one read, not a multiple of it: the streamed hash must
        // equal the one-shot hash.
        let big = dir.path().join("big");
        let data: Vec<u8> = (0..(READ_SIZE * 2 + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&big, &data).unwrap();
        assert_eq!(sha256_file(&big).unwrap(), sha256_bytes(&data));
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parallel_results_keep_input_order_and_report_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for i in 0..20u8 {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, [i]).unwrap();
            paths.push(p);
        }
        paths.push(dir.path().join("absent"));
        paths.push(dir.path().to_path_buf());
        let got = sha256_files(&paths, 3);
        for i in 0..20u8 {
            assert_eq!(got[i as usize].as_ref().unwrap(), &sha256_bytes(&[i]));
        }
        assert_eq!(got[20], Err(HashError::Missing));
        assert_eq!(got[21], Err(HashError::NotRegularFile));
    }

    #[test]
    fn bounded_reads_refuse_large_files_and_non_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_regular(&path, 5).unwrap(), b"12345");
        assert_eq!(
            read_regular(&path, 4),
            Err(HashError::TooLarge { limit: 4 })
        );
        assert_eq!(read_regular(dir.path(), 5), Err(HashError::NotRegularFile));
        assert_eq!(
            read_regular(&dir.path().join("absent"), 5),
            Err(HashError::Missing)
        );
    }
}
