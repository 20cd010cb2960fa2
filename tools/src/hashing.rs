//! SHA-256 of files: streamed in 1 MiB reads (memory flat in file size),
//! many files at once across cores. sha2 picks its SHA-NI code path at run time
//! where the CPU has it.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
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
    /// The path leads out of the folder it must stay in (through a symlink).
    Escapes,
    /// The path passes through a symlink where none is allowed.
    Symlink,
    Io(String),
}

impl HashError {
    /// Whether the path itself is unsafe (the manifest is unusable input),
    /// rather than the file being absent or unreadable.
    pub fn is_unsafe_path(&self) -> bool {
        matches!(self, HashError::Escapes | HashError::Symlink)
    }
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashError::Missing => f.write_str("file is missing"),
            HashError::NotRegularFile => f.write_str("not a regular file"),
            HashError::TooLarge { limit } if *limit >= 1 << 20 => {
                write!(f, "larger than {} MiB", limit >> 20)
            }
            HashError::TooLarge { limit } => write!(f, "larger than {limit} bytes"),
            HashError::Escapes => f.write_str("resolves through a symlink to outside the folder"),
            HashError::Symlink => f.write_str("passes through a symlink"),
            HashError::Io(e) => write!(f, "cannot read: {e}"),
        }
    }
}

fn io_error(e: std::io::Error) -> HashError {
    match e.kind() {
        ErrorKind::NotFound => HashError::Missing,
        _ => HashError::Io(e.to_string()),
    }
}

/// Checks the type on the opened handle (so the file cannot be swapped
/// between check and read), then makes reads blocking again: the open was
/// non-blocking so that a FIFO cannot hang it, and a regular file never blocks.
fn regular_handle(file: File) -> Result<(File, u64), HashError> {
    let meta = file.metadata().map_err(|e| HashError::Io(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(HashError::NotRegularFile);
    }
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns, with plain integer arguments.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok((file, meta.len()))
}

const OPEN_FLAGS: i32 = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;

/// Opens a regular file for reading, once: see [`regular_handle`].
pub fn open_regular(path: &Path) -> Result<(File, u64), HashError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io_error)?;
    regular_handle(file)
}

/// Opens the regular file at `relative` under the folder `root`, once, with
/// the kernel resolving the whole path (openat2): it can never leave `root`,
/// and with `no_symlinks` it may not pass through any symlink. What is checked
/// is then exactly what is read: no path is looked up twice.
pub fn open_beneath(
    root: &File,
    relative: &Path,
    no_symlinks: bool,
) -> Result<(File, u64), HashError> {
    let c_path = CString::new(relative.as_os_str().as_bytes())
        .map_err(|_| HashError::Io("the path contains a NUL byte".into()))?;
    let mut resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    if no_symlinks {
        resolve |= libc::RESOLVE_NO_SYMLINKS;
    }
    // SAFETY: open_how is plain data; zeroed is a valid value for every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = OPEN_FLAGS as u64;
    how.resolve = resolve;
    // SAFETY: the path is NUL-terminated and `how` lives across the call,
    // whose size argument is that of `how`.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd >= 0 {
        // SAFETY: the kernel just returned this descriptor to us alone.
        let file = unsafe { File::from_raw_fd(fd as i32) };
        return regular_handle(file);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EXDEV) => Err(HashError::Escapes),
        Some(libc::ELOOP) if no_symlinks => Err(HashError::Symlink),
        // Kernels before 5.6, or a sandbox that filters the call.
        Some(libc::ENOSYS) | Some(libc::EPERM) => open_beneath_by_hand(root, relative, no_symlinks),
        _ => Err(io_error(e)),
    }
}

/// How many symlinks one path may pass through, as the kernel's own limit.
const MAX_SYMLINKS: usize = 40;

/// Where openat2 is missing (kernels before 5.6, qemu-user, a sandbox that
/// filters it): the same rules, resolved here one component at a time on
/// descriptors we hold, each opened without following a symlink. A symlink
/// is refused with `no_symlinks`; otherwise its target is read and resolved
/// the same way: an absolute target, or `..` above `root`, escapes (as
/// RESOLVE_BENEATH refuses them).
fn open_beneath_by_hand(
    root: &File,
    relative: &Path,
    no_symlinks: bool,
) -> Result<(File, u64), HashError> {
    use std::ffi::OsString;
    // The folders from `root` down to where the walk is; `..` pops one.
    let mut dirs: Vec<File> = vec![root.try_clone().map_err(|e| HashError::Io(e.to_string()))?];
    // Components still to walk, the next one last.
    let mut todo: Vec<OsString> = relative.iter().rev().map(OsString::from).collect();
    let mut links = 0;
    while let Some(part) = todo.pop() {
        let last = todo.is_empty();
        if part == "." || part.is_empty() {
            if last {
                return Err(HashError::NotRegularFile);
            }
            continue;
        }
        if part == ".." {
            if dirs.len() == 1 {
                return Err(HashError::Escapes);
            }
            dirs.pop();
            if last {
                return Err(HashError::NotRegularFile);
            }
            continue;
        }
        let dir = dirs.last().expect("root stays");
        let c_part = CString::new(part.as_bytes())
            .map_err(|_| HashError::Io("the path contains a NUL byte".into()))?;
        if is_symlink_at(dir, &c_part) {
            if no_symlinks {
                return Err(HashError::Symlink);
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(HashError::Io("too many levels of symbolic links".into()));
            }
            let target = read_link_at(dir, &c_part)?;
            if target.as_bytes().first() == Some(&b'/') {
                return Err(HashError::Escapes);
            }
            todo.extend(Path::new(&target).iter().rev().map(OsString::from));
            continue;
        }
        let flags = OPEN_FLAGS | libc::O_NOFOLLOW | if last { 0 } else { libc::O_DIRECTORY };
        // SAFETY: a NUL-terminated name relative to a descriptor we own.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), c_part.as_ptr(), flags) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                // Swapped for a symlink since the check above: never followed.
                Some(libc::ELOOP) => HashError::Symlink,
                Some(libc::ENOTDIR) => HashError::NotRegularFile,
                _ => io_error(e),
            });
        }
        // SAFETY: the kernel just returned this descriptor to us alone.
        let opened = unsafe { File::from_raw_fd(fd) };
        if last {
            return regular_handle(opened);
        }
        dirs.push(opened);
    }
    Err(HashError::NotRegularFile)
}

fn is_symlink_at(dir: &File, name: &CString) -> bool {
    // SAFETY: stat is plain data; a NUL-terminated name relative to our descriptor.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    rc == 0 && st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

fn read_link_at(dir: &File, name: &CString) -> Result<std::ffi::OsString, HashError> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the buffer is writable for its length; the name is NUL-terminated.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io_error(std::io::Error::last_os_error()));
    }
    buf.truncate(n as usize);
    Ok(std::ffi::OsString::from_vec(buf))
}

/// Hex SHA-256 of everything `file` still holds, read in `buf`-sized pieces.
pub fn sha256_reader(mut file: impl Read, buf: &mut [u8]) -> Result<String, HashError> {
    let mut hasher = Sha256::new();
    loop {
        match file.read(buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(HashError::Io(e.to_string())),
        }
    }
    Ok(to_hex(&hasher.finalize()))
}

/// Hex SHA-256 of a regular file (see [`open_regular`]).
pub fn sha256_file(path: &Path) -> Result<String, HashError> {
    let (file, _) = open_regular(path)?;
    sha256_reader(file, &mut vec![0u8; READ_SIZE])
}

/// Everything a handle holds, when it is at most `limit` bytes: a file that
/// grows past the bound while it is read is refused too.
pub fn read_bounded(file: File, len: u64, limit: u64) -> Result<Vec<u8>, HashError> {
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

/// The whole content of a regular file of at most `limit` bytes, from one
/// open (see [`open_regular`]).
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, HashError> {
    let (file, len) = open_regular(path)?;
    read_bounded(file, len, limit)
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

/// Hashes every path on a pool of `threads` workers (see [`sha256_each`]).
pub fn sha256_files(paths: &[PathBuf], threads: usize) -> Vec<Result<String, HashError>> {
    sha256_each(
        paths,
        threads,
        |path| open_regular(path).map(|(file, _)| file),
        &|| {},
    )
}

/// Opens and hashes every item on a pool of `threads` workers (at least one)
/// that take the next item from a shared counter, so big and small files
/// balance out; each worker reuses one read buffer. Results come back in the
/// order of `items`; `hashed` is called after each (for progress).
pub fn sha256_each<T: Sync>(
    items: &[T],
    threads: usize,
    open: impl Fn(&T) -> Result<File, HashError> + Sync,
    hashed: &(dyn Fn() + Sync),
) -> Vec<Result<String, HashError>> {
    let results: Vec<Mutex<Option<Result<String, HashError>>>> =
        items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = threads.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut buf = vec![0u8; READ_SIZE];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let hash = open(item).and_then(|file| sha256_reader(file, &mut buf));
                    *results[i]
                        .lock()
                        .expect("no worker panics while holding a slot") = Some(hash);
                    hashed();
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

    /// The resolver used where openat2 is missing gives what openat2 gives
    /// (checked against the kernel where it has openat2; under qemu-user,
    /// which lacks it, against the same table).
    #[test]
    fn resolving_by_hand_agrees_with_openat2() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, b"secret").unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("real/deep")).unwrap();
        std::fs::write(root.join("real/deep/bin"), b"binary").unwrap();
        symlink("real", root.join("dirlink")).unwrap();
        symlink("real/deep/bin", root.join("filelink")).unwrap();
        symlink("filelink", root.join("chain")).unwrap();
        symlink("../outside", root.join("escape")).unwrap();
        symlink(&outside, root.join("absolute")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        symlink("../real/deep/bin", root.join("sub/up")).unwrap();
        let dir = File::open(&root).unwrap();
        let kind = |r: Result<(File, u64), HashError>| match r {
            Ok((mut f, len)) => {
                let mut text = String::new();
                f.read_to_string(&mut text).unwrap();
                format!("ok {len} {text}")
            }
            Err(HashError::Io(_)) => "io".to_owned(),
            Err(e) => format!("{e:?}"),
        };
        let table = [
            ("real/deep/bin", false, "ok 6 binary"),
            ("dirlink/deep/bin", false, "ok 6 binary"),
            ("dirlink/deep/bin", true, "Symlink"),
            ("filelink", false, "ok 6 binary"),
            ("chain", false, "ok 6 binary"),
            ("chain", true, "Symlink"),
            ("sub/up", false, "ok 6 binary"),
            ("escape", false, "Escapes"),
            ("absolute", false, "Escapes"),
            ("loop", false, "io"),
            ("real/deep", false, "NotRegularFile"),
            ("missing", false, "Missing"),
        ];
        for (path, no_symlinks, expected) in table {
            let by_hand = kind(open_beneath_by_hand(&dir, Path::new(path), no_symlinks));
            assert_eq!(
                by_hand, expected,
                "by hand: {path} (no_symlinks {no_symlinks})"
            );
            let kernel = kind(open_beneath(&dir, Path::new(path), no_symlinks));
            assert_eq!(
                kernel, expected,
                "open_beneath: {path} (no_symlinks {no_symlinks})"
            );
        }
    }

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
