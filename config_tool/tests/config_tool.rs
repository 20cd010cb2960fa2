use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use hubcore::config::{ClientConfig, HubConfig, ServerConfig, load};

fn tool(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_config_tool"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn new(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "new",
        "--server-url",
        "https://clips.example.org",
        "--camera-id",
        "porch",
    ];
    args.extend(extra);
    tool(&args, dir)
}

#[test]
fn writes_three_matching_private_configs() {
    let dir = tempfile::tempdir().unwrap();
    let out = new(dir.path(), &["--camera-url", "http://192.0.2.7/video.mjpg"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "wrote ./hub.json\nwrote ./server.json\nwrote ./client.json\ncopy hub.json to the camera hub, server.json to the server; keep client.json private\n"
    );
    let hub: HubConfig = load(&dir.path().join("hub.json")).unwrap();
    let server: ServerConfig = load(&dir.path().join("server.json")).unwrap();
    let client: ClientConfig = load(&dir.path().join("client.json")).unwrap();
    assert_eq!(server.cameras["porch"], hub.token);
    assert_eq!(server.clients["viewer"], client.token);
    assert_eq!(hub.key, client.key);
    assert_eq!(
        hub.camera_url.as_deref(),
        Some("http://192.0.2.7/video.mjpg")
    );
    assert_eq!(server.listen, "127.0.0.1:8080");
    let secrets = [&hub.token, &client.token, &hub.key];
    for s in secrets {
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert!(hub.token != client.token && hub.token != hub.key && client.token != hub.key);
    assert!(
        !fs::read_to_string(dir.path().join("server.json"))
            .unwrap()
            .contains(&hub.key),
        "the server never gets the key"
    );
    for f in ["hub.json", "server.json", "client.json"] {
        assert_eq!(
            fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600,
            "{f}"
        );
    }
}

#[test]
fn never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    assert!(new(dir.path(), &[]).status.success());
    let before = fs::read(dir.path().join("hub.json")).unwrap();
    let again = new(dir.path(), &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("already exist(s); nothing was written. Pass --force")
    );
    assert_eq!(fs::read(dir.path().join("hub.json")).unwrap(), before);
    assert!(new(dir.path(), &["--force"]).status.success());
    assert_ne!(fs::read(dir.path().join("hub.json")).unwrap(), before);
}

#[test]
fn bad_names_and_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = tool(
        &["new", "--server-url", "ftp://x", "--camera-id", "porch"],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with https://"));
    let out = tool(
        &[
            "new",
            "--server-url",
            "https://x",
            "--camera-id",
            "../porch",
        ],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("camera id `../porch` must be"));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn prints_a_pairing_qr_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = new(dir.path(), &["--qr"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains('█') && text.contains('▀'), "{text}");
    let qr = tool(&["qr", "client.json"], dir.path());
    let qr_text = String::from_utf8(qr.stdout).unwrap();
    assert!(text.ends_with(&qr_text), "the same code from the file");
    assert!(qr_text.lines().count() > 20);
}

#[test]
fn opens_a_clip_sealed_by_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    assert!(new(dir.path(), &[]).status.success());
    let hub: HubConfig = load(&dir.path().join("hub.json")).unwrap();
    let key = hubcore::secret::key_from_hex(&hub.key).unwrap();
    let sealed = hubcore::clip::seal(&key, "porch", "clip-1.mjpeg", b"mjpeg bytes").unwrap();
    fs::write(dir.path().join("clip-1.mjpeg"), &sealed).unwrap();
    let out = tool(
        &["open-clip", "clip-1.mjpeg", "-o", "plain.mjpeg"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(dir.path().join("plain.mjpeg")).unwrap(),
        b"mjpeg bytes"
    );
    // Renamed, it no longer opens: the name is bound to the clip.
    fs::write(dir.path().join("clip-2.mjpeg"), &sealed).unwrap();
    let out = tool(
        &["open-clip", "clip-2.mjpeg", "-o", "other.mjpeg"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not open with this key"));
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .map(|n| {
            let bytes = fs::read(dir.join(&n)).unwrap_or_default();
            (n, bytes)
        })
        .collect()
}

#[test]
fn force_writes_all_files_or_none() {
    let dir = tempfile::tempdir().unwrap();
    assert!(new(dir.path(), &[]).status.success());
    // server.json cannot be replaced: nothing may be, or hub and client
    // would hold keys from different runs.
    fs::remove_file(dir.path().join("server.json")).unwrap();
    fs::create_dir(dir.path().join("server.json")).unwrap();
    let before = contents(dir.path());
    let out = new(dir.path(), &["--force"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("./server.json: is a folder; nothing was written"),
        "{stderr}"
    );
    assert_eq!(contents(dir.path()), before);
}

/// An LD_PRELOAD library that makes rename(2) fail with EIO when the
/// destination ends with $FAIL_RENAME_TO: a fault injected at one step.
fn rename_fault(dir: &Path) -> std::path::PathBuf {
    let source = dir.join("fault.c");
    fs::write(
        &source,
        r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
int rename(const char *from, const char *to) {
    const char *fail = getenv("FAIL_RENAME_TO");
    size_t n = strlen(to), m = fail ? strlen(fail) : 0;
    if (fail && n >= m && strcmp(to + n - m, fail) == 0) { errno = EIO; return -1; }
    int (*real)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    return real(from, to);
}
"#,
    )
    .unwrap();
    let lib = dir.join("fault.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&source)
        .arg("-ldl")
        .status()
        .expect("a C compiler (cc) builds the fault-injection library");
    assert!(status.success());
    lib
}

#[test]
fn a_write_failing_midway_puts_back_the_files_already_replaced() {
    let faults = tempfile::tempdir().unwrap();
    let lib = rename_fault(faults.path());
    let dir = tempfile::tempdir().unwrap();
    assert!(new(dir.path(), &[]).status.success());
    let before = contents(dir.path());
    for fail in ["server.json", "client.json"] {
        let out = Command::new(env!("CARGO_BIN_EXE_config_tool"))
            .args([
                "new",
                "--server-url",
                "https://x",
                "--camera-id",
                "porch",
                "--force",
            ])
            .current_dir(dir.path())
            .env("LD_PRELOAD", &lib)
            .env("FAIL_RENAME_TO", fail)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains(&format!(
                "./{fail}: cannot write; nothing was written (all files are as before)"
            )),
            "{stderr}"
        );
        assert_eq!(contents(dir.path()), before, "after a failed {fail}");
    }
}

#[test]
fn a_dangling_symlink_counts_as_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("absent-target", dir.path().join("client.json")).unwrap();
    let out = new(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("./client.json already exist(s); nothing was written. Pass --force"),
        "{stderr}"
    );
    assert_eq!(listing(dir.path()), ["client.json"]);
    assert!(new(dir.path(), &["--force"]).status.success());
    assert_eq!(
        listing(dir.path()),
        ["client.json", "hub.json", "server.json"]
    );
    assert!(
        fs::symlink_metadata(dir.path().join("client.json"))
            .unwrap()
            .is_file()
    );
    assert!(!dir.path().join("absent-target").exists());
}

#[test]
fn server_urls_without_a_host_or_with_control_characters_are_refused() {
    for (url, says) in [
        ("http://", "names no host"),
        ("https://", "names no host"),
        ("https://clips.example.org\n", "holds the character \\n"),
        (
            "https://clips.example.org/\x1b[2J",
            "holds the character \\u{1b}",
        ),
        ("https://clips.example.org/a b", "holds the character  "),
        ("https://token@clips.example.org", "user name or password"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = tool(
            &["new", "--server-url", url, "--camera-id", "porch"],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(1), "{url:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("--server-url: server URL"), "{stderr}");
        assert!(stderr.contains(says), "{url:?}: {stderr}");
        assert!(
            !stderr.contains('\x1b') && stderr.lines().count() == 1,
            "{stderr:?}"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

/// Runs the tool, killing it after 10 s: a hang is a failure, not a stuck test.
fn tool_bounded(args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_config_tool"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("camhub-config {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn open_clip_replaces_its_output_only_with_force_and_refuses_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(new(d, &[]).status.success());
    let hub: HubConfig = load(&d.join("hub.json")).unwrap();
    let key = hubcore::secret::key_from_hex(&hub.key).unwrap();
    let sealed = hubcore::clip::seal(&key, "porch", "clip-1.mjpeg", b"mjpeg bytes").unwrap();
    fs::write(d.join("clip-1.mjpeg"), &sealed).unwrap();
    fs::write(d.join("plain.mjpeg"), b"earlier").unwrap();
    let out = tool(&["open-clip", "clip-1.mjpeg", "-o", "plain.mjpeg"], d);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("plain.mjpeg already exist(s); nothing was written. Pass --force"),
        "{stderr}"
    );
    assert_eq!(fs::read(d.join("plain.mjpeg")).unwrap(), b"earlier");
    // The hint is one the command takes.
    let out = tool(
        &["open-clip", "clip-1.mjpeg", "-o", "plain.mjpeg", "--force"],
        d,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read(d.join("plain.mjpeg")).unwrap(), b"mjpeg bytes");

    assert!(
        Command::new("mkfifo")
            .arg(d.join("clip-2.mjpeg"))
            .status()
            .unwrap()
            .success()
    );
    let out = tool_bounded(&["open-clip", "clip-2.mjpeg", "-o", "two.mjpeg"], d);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clip-2.mjpeg: not a regular file"));
}

#[test]
fn a_client_config_that_is_a_fifo_or_a_device_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(
        Command::new("mkfifo")
            .arg(d.join("client.json"))
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.json")).unwrap();
    for client in ["client.json", "zero.json"] {
        let out = tool_bounded(&["qr", client], d);
        assert_eq!(out.status.code(), Some(1), "{client}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "{client}: not a regular file; give the path of the config file itself"
            )),
            "{client}: {stderr}"
        );
    }
}
