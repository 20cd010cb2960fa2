//! Replays a fuzz target's committed inputs (fuzz/regressions/<target>/:
//! every input that ever crashed or hung it, and its seeds) through the
//! target's own check, for the crates' `tests/fuzz_regressions.rs`. A panic
//! or an input still running after a minute fails the test, naming the file.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Far above what any input takes (milliseconds); only a hang reaches it.
const HANG: Duration = Duration::from_secs(60);

pub fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a folder entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no inputs to replay", dir.display());
    for path in files {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (done, finished) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            check(&data);
            let _ = done.send(());
        });
        match finished.recv_timeout(HANG) {
            Ok(()) => worker.join().expect("finished"),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let panic = worker
                    .join()
                    .expect_err("the check stopped without finishing");
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                panic!("{}: {target} check failed: {why}", path.display());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "{}: {target} check still running after {HANG:?}",
                    path.display()
                )
            }
        }
    }
}
