//! The updater against release folders built in the test: it installs only
//! what both the manifest and SHA256SUMS vouch for.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use repro::hashing::sha256_bytes;
use repro::manifest::{Artifact, BuildInfo, Manifest};

const TRIPLE: &str = "aarch64-unknown-linux-gnu";

/// A release holding camhub-reset with `content`; manifest and SHA256SUMS
/// record `listed` (the content's hash unless a test lies).
fn release(dir: &Path, content: &[u8], in_manifest: Option<String>, in_sums: Option<String>) {
    fs::create_dir_all(dir.join(TRIPLE)).unwrap();
    fs::write(dir.join(TRIPLE).join("camhub-reset"), content).unwrap();
    let hash = sha256_bytes(content);
    let manifest = Manifest {
        build: BuildInfo {
            target: "raspberry".into(),
            profile: "all".into(),
            run_id: "1".into(),
            timestamp: "2026-01-01T00:00:00Z".into(),
            build_modes: Default::default(),
        },
        artifacts: vec![Artifact {
            package: "reset".into(),
            target: TRIPLE.into(),
            bin: "camhub-reset".into(),
            bin_path: format!("{TRIPLE}/camhub-reset"),
            sha256: Some(in_manifest.unwrap_or_else(|| hash.clone())),
            crate_name: "reset".into(),
            version: "0.1.0".into(),
            crate_lock_sha256: "l".into(),
            rust_digest: "d".into(),
        }],
    };
    fs::write(dir.join("manifest.json"), manifest.to_canonical_json()).unwrap();
    fs::write(
        dir.join("SHA256SUMS"),
        format!("{}  {TRIPLE}/camhub-reset\n", in_sums.unwrap_or(hash)),
    )
    .unwrap();
}

fn update(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_update"))
        .args(args)
        .args(["--triple", TRIPLE])
        .current_dir(dir)
        .output()
        .unwrap()
}

fn installed(dir: &Path) -> (Output, Vec<u8>) {
    let out = update(&["--release", "rel", "--install", "bin/camhub-reset"], dir);
    (
        out,
        fs::read(dir.join("bin/camhub-reset")).unwrap_or_default(),
    )
}

#[test]
fn installs_a_verified_binary_and_keeps_the_old_one_for_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("bin")).unwrap();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    release(&d.join("rel"), b"version 2", None, None);
    let (out, now) = installed(d);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(now, b"version 2");
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.old")).unwrap(),
        b"version 1"
    );
    assert_eq!(
        fs::metadata(d.join("bin/camhub-reset"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "installed camhub-reset {} at bin/camhub-reset\nthe previous binary is kept at bin/camhub-reset.old\n",
            sha256_bytes(b"version 2")
        )
    );
    let (out, _) = installed(d);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("is already camhub-reset")
    );

    let out = update(&["--rollback", "--install", "bin/camhub-reset"], d);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 1");
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.old")).unwrap(),
        b"version 2"
    );
    let leftovers: Vec<_> = fs::read_dir(d.join("bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn refuses_when_the_manifest_or_sha256sums_disagree_and_leaves_the_install_alone() {
    let lie = Some("00".repeat(32));
    for (in_manifest, in_sums, says) in [
        (lie.clone(), None, "but the manifest says 0000"),
        (None, lie.clone(), "and SHA256SUMS says 0000"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("bin")).unwrap();
        fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
        release(&d.join("rel"), b"tampered", in_manifest, in_sums);
        let (out, now) = installed(d);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("refused: ") && stderr.contains(says),
            "{stderr}"
        );
        assert_eq!(now, b"version 1");
        assert!(!d.join("bin/camhub-reset.old").exists());
    }
}

#[test]
fn a_release_without_sha256sums_or_with_a_hostile_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    release(&d.join("rel"), b"v2", None, None);
    fs::remove_file(d.join("rel/SHA256SUMS")).unwrap();
    let (out, _) = installed(d);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a release must ship SHA256SUMS"));

    let manifest = fs::read_to_string(d.join("rel/manifest.json")).unwrap();
    fs::write(
        d.join("rel/manifest.json"),
        manifest.replace(&format!("\"{TRIPLE}/camhub-reset\""), "\"/etc/passwd\""),
    )
    .unwrap();
    let (out, _) = installed(d);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unsafe bin_path"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    fs::write(d.join("rel/manifest.json"), manifest).unwrap();
    let out = update(&["--release", "rel", "--install", "bin/camhub-other"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no `camhub-other`"));
}
