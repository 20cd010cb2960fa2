//! `repro sums` output is what `sha256sum` itself writes and reads back with
//! `sha256sum -c`, as is: checked with the real sha256sum.

mod common;

use std::fs;
use std::process::Command;

use common::*;

fn sha256sum(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new("sha256sum")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("sha256sum (coreutils) is installed")
}

#[test]
fn sums_output_is_checked_by_sha256sum_as_is() {
    let (_guard, tmp) = tmp();
    let release_dir = tmp.join("release");
    let arts = vec![
        art("server", X86, "camhub server (x86) ü", b"server"),
        art("config_tool", X86, "-camhub-config", b"config"),
        art("hub", ARM, "camhub-ip", b"hub"),
    ];
    build_folder(&release_dir, &arts);
    let r = run(repro().arg("sums").arg(&release_dir));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "{}  {ARM}/camhub-ip\n{}  {X86}/-camhub-config\n{}  {X86}/camhub server (x86) ü\n",
            sha256_hex(b"hub"),
            sha256_hex(b"config"),
            sha256_hex(b"server")
        )
    );
    fs::write(release_dir.join("SHA256SUMS"), &r.stdout).unwrap();
    let check = sha256sum(&["--check", "--strict", "SHA256SUMS"], &release_dir);
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    // The check can fail: a changed file is caught by sha256sum with these lines.
    fs::write(
        release_dir.join(X86).join("camhub server (x86) ü"),
        "changed",
    )
    .unwrap();
    let check = sha256sum(&["--check", "--strict", "SHA256SUMS"], &release_dir);
    assert!(!check.status.success());
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("camhub server (x86) ü: FAILED"),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn lines_escape_names_exactly_as_gnu_sha256sum_does() {
    // A manifest cannot name such files (see below), but the line format must
    // still be GNU's: compared with what sha256sum writes for the same files.
    let (_guard, tmp) = tmp();
    let names = [
        "plain",
        "with space",
        "back\\slash",
        "new\nline",
        "both\\and\nthis",
    ];
    for name in names {
        fs::write(tmp.join(name), name).unwrap();
    }
    let theirs = sha256sum(&names, &tmp);
    assert!(theirs.status.success());
    let ours: String = names
        .iter()
        .map(|name| {
            format!(
                "{}\n",
                repro::sums::sums_line(&sha256_hex(name.as_bytes()), name)
            )
        })
        .collect();
    assert_eq!(ours, String::from_utf8(theirs.stdout).unwrap());
    fs::write(tmp.join("SUMS"), &ours).unwrap();
    let check = sha256sum(&["--check", "--strict", "SUMS"], &tmp);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn a_manifest_naming_a_file_with_a_backslash_or_a_newline_is_unusable() {
    let (_guard, tmp) = tmp();
    // JSON escapes: the fixture writes them into manifest.json as they are.
    for (bin, says) in [
        ("a\\\\b", "is not a plain file name"),
        ("a\\nb", "contains a control character"),
    ] {
        build_folder(
            &tmp.join("r"),
            &[art("server", X86, "camhub-server", b"s").with(|a| {
                a.bin = bin.into();
                a.bin_path = format!("{X86}/{bin}");
                a.content = None;
            })],
        );
        let r = run(repro().arg("sums").arg(tmp.join("r")));
        assert_eq!(r.code, 2, "{bin}: {}", r.stdout);
        assert_eq!(r.stdout, "");
        assert!(r.stderr.contains(says), "{bin}: {}", r.stderr);
    }
}
