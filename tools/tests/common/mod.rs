//! Fixtures for driving the real `repro` binary: build folders and manifests
//! written exactly as Secluso's build.sh writes them, in temp dirs.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const X86: &str = "x86_64-unknown-linux-gnu";
pub const ARM: &str = "aarch64-unknown-linux-gnu";
pub const LOCK: &str = "1111111111111111111111111111111111111111111111111111111111111111";
pub const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

pub fn repro() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_repro"));
    // RUSTC picks `repro build`'s compiler; the tests that want one set it.
    cmd.env_remove("NO_COLOR")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("RUSTC");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.stdin(Stdio::null()).output().expect("repro runs");
    Run {
        code: status.code().expect("repro exits, not killed by a signal"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// One artifact line of a Secluso manifest.
#[derive(Clone)]
pub struct Art {
    pub package: String,
    pub target: String,
    pub bin: String,
    pub bin_path: String,
    pub sha256: Option<String>,
    pub crate_name: String,
    pub version: String,
    pub lock: String,
    pub digest: String,
    /// The file's content; None writes no file.
    pub content: Option<Vec<u8>>,
}

pub fn art(package: &str, target: &str, bin: &str, content: &[u8]) -> Art {
    Art {
        package: package.into(),
        target: target.into(),
        bin: bin.into(),
        bin_path: format!("{target}/{bin}"),
        sha256: None,
        crate_name: package.into(),
        version: "0.1.0".into(),
        lock: LOCK.into(),
        digest: DIGEST.into(),
        content: Some(content.to_vec()),
    }
}

impl Art {
    pub fn with(mut self, f: impl FnOnce(&mut Art)) -> Art {
        f(&mut self);
        self
    }
}

/// Writes a build folder: the files, and manifest.json byte for byte as
/// Secluso's releases/build.sh does (printf per artifact, `paste -sd','`, a
/// heredoc around it). With `sha256` set, the artifact line carries it the way
/// Secluso's newer rust_pipeline.bash does.
pub fn build_folder(dir: &Path, arts: &[Art]) {
    fs::create_dir_all(dir).unwrap();
    let mut lines = Vec::new();
    for a in arts {
        if let Some(content) = &a.content {
            let path = dir.join(&a.bin_path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, content).unwrap();
        }
        lines.push(match &a.sha256 {
            None => format!(
                r#"    {{"package":"{}","target":"{}","bin":"{}","bin_path":"{}","crate":"{}","version":"{}","crate_lock_sha256":"{}","rust_digest":"{}"}}"#,
                a.package, a.target, a.bin, a.bin_path, a.crate_name, a.version, a.lock, a.digest
            ),
            Some(sha) => format!(
                r#"    {{"package":"{}","target":"{}","bin":"{}","bin_path":"{}","sha256":"{}","crate":"{}","version":"{}","crate_lock_sha256":"{}","rust_digest":"{}"}}"#,
                a.package, a.target, a.bin, a.bin_path, sha, a.crate_name, a.version, a.lock, a.digest
            ),
        });
    }
    let manifest = format!(
        "{{\n  \"build\": {{\n    \"target\": \"all\",\n    \"profile\": \"release\",\n    \"run_id\": \"1\",\n    \"timestamp\": \"2026-01-02T03:04:05Z\"\n  }},\n  \"artifacts\": [\n{}\n  ]\n}}\n",
        lines.join(",")
    );
    fs::write(dir.join("manifest.json"), manifest).unwrap();
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    repro::hashing::sha256_bytes(bytes)
}

/// The usual pair: a hub on two triples and a server on one.
pub fn release() -> Vec<Art> {
    vec![
        art("ip_camera_hub", X86, "camhub-ip", b"hub x86"),
        art("ip_camera_hub", ARM, "camhub-ip", b"hub arm"),
        art("server", X86, "camhub-server", b"server x86"),
    ]
}

/// Replaces the temp folder's path so expected output can be written literally.
pub fn normalise(text: &str, tmp: &Path) -> String {
    text.replace(&tmp.display().to_string(), "<tmp>")
}

pub fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap();
    (dir, path)
}

/// Like [`run`], but a command still running after `secs` is killed and the
/// test fails: for inputs (FIFOs, endless devices) that could make it hang.
pub fn run_within(cmd: &mut Command, secs: u64) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("repro runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("repro still ran after {secs} s: it hangs on this input");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().expect("repro exits, not killed by a signal"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// Makes a FIFO at `path`: opening it for reading blocks until a writer comes.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}
