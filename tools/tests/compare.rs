//! `repro compare`, driven as a user would: real folders, exact lines, exit codes.

mod common;

use std::fs;

use common::*;
use repro::compare::{Report, Status};

fn compare(tmp: &std::path::Path, a: &str, b: &str) -> Run {
    run(repro().arg("compare").arg(tmp.join(a)).arg(tmp.join(b)))
}

#[test]
fn identical_builds_pass_with_one_ok_line_per_artifact() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    build_folder(&tmp.join("b"), &release());
    let r = compare(&tmp, "a", "b");
    let (hub_arm, hub_x86, server) = (
        sha256_hex(b"hub arm"),
        sha256_hex(b"hub x86"),
        sha256_hex(b"server x86"),
    );
    assert_eq!(
        normalise(&r.stdout, &tmp),
        format!(
            "A: <tmp>/a (3 artifacts)
B: <tmp>/b (3 artifacts)
OK   : ip_camera_hub | aarch64-unknown-linux-gnu | camhub-ip (crate=ip_camera_hub v0.1.0, sha={hub_arm})
OK   : ip_camera_hub | x86_64-unknown-linux-gnu | camhub-ip (crate=ip_camera_hub v0.1.0, sha={hub_x86})
OK   : server | x86_64-unknown-linux-gnu | camhub-server (crate=server v0.1.0, sha={server})

3 OK, 0 DIFF, 0 FAIL, 0 missing, 0 extra
Reproducibility check PASSED
"
        )
    );
    assert_eq!(r.stderr, "");
    assert_eq!(r.code, 0);
}

#[test]
fn a_differing_binary_is_a_diff_with_both_hashes() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    let mut b = release();
    b[2].content = Some(b"server x86, patched".to_vec());
    build_folder(&tmp.join("b"), &b);
    let r = compare(&tmp, "a", "b");
    let expected = format!(
        "DIFF: binary hash mismatch for server | x86_64-unknown-linux-gnu | camhub-server:
  A: {}
  B: {}
",
        sha256_hex(b"server x86"),
        sha256_hex(b"server x86, patched")
    );
    assert!(r.stdout.contains(&expected), "{}", r.stdout);
    assert!(
        r.stdout
            .ends_with("2 OK, 1 DIFF, 0 FAIL, 0 missing, 0 extra\nReproducibility check FAILED\n")
    );
    assert_eq!(r.code, 1);
}

#[test]
fn differing_build_inputs_are_named_and_the_binaries_are_not_compared() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    let mut b = release();
    b[0] = b[0].clone().with(|a| {
        a.version = "0.2.0".into();
        a.crate_name = "camera_hub".into();
        a.lock = "3333".into();
        a.digest = String::new();
    });
    build_folder(&tmp.join("b"), &b);
    let r = compare(&tmp, "a", "b");
    let key = "ip_camera_hub | x86_64-unknown-linux-gnu | camhub-ip";
    let expected = format!(
        "DIFF: crate mismatch for {key}:
  A: ip_camera_hub
  B: camera_hub
DIFF: version mismatch for {key}:
  A: 0.1.0
  B: 0.2.0
DIFF: Cargo.lock SHA mismatch for {key}:
  A: {LOCK}
  B: 3333
DIFF: toolchain digest mismatch for {key}:
  A: {DIGEST}
  B: <none>
  (binaries not compared: their build inputs differ)
"
    );
    assert!(r.stdout.contains(&expected), "{}", r.stdout);
    assert_eq!(r.code, 1);
}

#[test]
fn an_empty_lock_hash_or_toolchain_digest_never_matches() {
    let (_guard, tmp) = tmp();
    let blank = |a: &mut Art| {
        a.lock = String::new();
        a.digest = String::new();
    };
    let arts = vec![art("server", X86, "camhub-server", b"s").with(blank)];
    build_folder(&tmp.join("a"), &arts);
    build_folder(&tmp.join("b"), &arts);
    let r = compare(&tmp, "a", "b");
    assert!(r.stdout.contains("DIFF: Cargo.lock SHA mismatch for server | x86_64-unknown-linux-gnu | camhub-server:\n  A: <none>\n  B: <none>\n"), "{}", r.stdout);
    assert!(r.stdout.contains("DIFF: toolchain digest mismatch"));
    assert_eq!(r.code, 1);
}

#[test]
fn a_subset_passes_and_the_extras_are_listed_as_info() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release()[..2]);
    build_folder(&tmp.join("b"), &release());
    let r = compare(&tmp, "a", "b");
    assert!(
        r.stdout.contains(
            "INFO : Extra artifacts present only in B:\n  - server | x86_64-unknown-linux-gnu | camhub-server\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .ends_with("2 OK, 0 DIFF, 0 FAIL, 0 missing, 1 extra\nReproducibility check PASSED\n")
    );
    assert_eq!(r.code, 0);
    // The rule is symmetric: the smaller side may be either argument.
    let r = compare(&tmp, "b", "a");
    assert!(
        r.stdout
            .contains("INFO : Extra artifacts present only in A:"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0);
}

#[test]
fn the_smaller_side_must_be_a_subset() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release()[..2]);
    let mut b = release();
    b.remove(1);
    b.push(art("config_tool", X86, "camhub-config", b"c"));
    build_folder(&tmp.join("b"), &b);
    let r = compare(&tmp, "a", "b");
    assert!(
        r.stdout.contains(
            "FAIL: B does not contain all artifacts of A:\n  - ip_camera_hub | aarch64-unknown-linux-gnu | camhub-ip\n"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("Reproducibility check FAILED\n"));
    assert_eq!(r.code, 1);
}

#[test]
fn nothing_in_common_is_failed_not_a_vacuous_pass() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &[]);
    build_folder(&tmp.join("b"), &release());
    let r = compare(&tmp, "a", "b");
    assert!(
        r.stdout
            .contains("FAIL: nothing to compare: no artifact is in both manifests\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("Reproducibility check FAILED\n"));
    assert_eq!(r.code, 1);
    // Two empty manifests prove nothing either.
    build_folder(&tmp.join("c"), &[]);
    assert_eq!(compare(&tmp, "a", "c").code, 1);
}

#[test]
fn missing_and_non_regular_files_fail() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    let mut b = release();
    b[0].content = None;
    build_folder(&tmp.join("b"), &b);
    // A directory, and a FIFO (which would block a careless open), where binaries belong.
    fs::remove_file(tmp.join("b").join(X86).join("camhub-server")).unwrap();
    fs::create_dir(tmp.join("b").join(X86).join("camhub-server")).unwrap();
    fs::remove_file(tmp.join("b").join(ARM).join("camhub-ip")).unwrap();
    let fifo = tmp.join("b").join(ARM).join("camhub-ip");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let r = compare(&tmp, "a", "b");
    for expected in [
        "FAIL: cannot check ip_camera_hub | x86_64-unknown-linux-gnu | camhub-ip:\n  B x86_64-unknown-linux-gnu/camhub-ip: file is missing\n",
        "FAIL: cannot check ip_camera_hub | aarch64-unknown-linux-gnu | camhub-ip:\n  B aarch64-unknown-linux-gnu/camhub-ip: not a regular file\n",
        "FAIL: cannot check server | x86_64-unknown-linux-gnu | camhub-server:\n  B x86_64-unknown-linux-gnu/camhub-server: not a regular file\n",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }
    assert!(
        r.stdout
            .ends_with("0 OK, 0 DIFF, 3 FAIL, 0 missing, 0 extra\nReproducibility check FAILED\n")
    );
    assert_eq!(r.code, 1);
}

#[test]
fn a_manifest_hash_that_does_not_match_its_file_fails_even_when_both_files_agree() {
    let (_guard, tmp) = tmp();
    let lying =
        art("server", X86, "camhub-server", b"s").with(|a| a.sha256 = Some("ab".repeat(32)));
    build_folder(&tmp.join("a"), &[lying]);
    build_folder(&tmp.join("b"), &[art("server", X86, "camhub-server", b"s")]);
    let r = compare(&tmp, "a", "b");
    let expected = format!(
        "  A x86_64-unknown-linux-gnu/camhub-server: manifest sha256 {} does not match the file, which hashes to {}\n",
        "ab".repeat(32),
        sha256_hex(b"s")
    );
    assert!(r.stdout.contains(&expected), "{}", r.stdout);
    assert_eq!(r.code, 1);
}

#[test]
fn secluso_newer_layout_with_recorded_hashes_passes() {
    let (_guard, tmp) = tmp();
    let arts: Vec<Art> = release()
        .into_iter()
        .map(|a| {
            a.with(|a| {
                a.bin_path = format!("artifacts/{}/{}", a.target, a.bin);
                a.sha256 = Some(sha256_hex(a.content.as_ref().unwrap()));
            })
        })
        .collect();
    build_folder(&tmp.join("a"), &arts);
    build_folder(&tmp.join("b"), &release());
    let r = compare(&tmp, "a", "b");
    assert!(
        r.stdout
            .ends_with("3 OK, 0 DIFF, 0 FAIL, 0 missing, 0 extra\nReproducibility check PASSED\n"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0);
}

#[test]
fn a_result_symlink_to_the_folder_is_fine_but_the_same_folder_twice_is_refused() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("store-path"), &release());
    build_folder(&tmp.join("release"), &release());
    std::os::unix::fs::symlink(tmp.join("store-path"), tmp.join("result")).unwrap();
    assert_eq!(compare(&tmp, "result", "release").code, 0);

    let r = compare(&tmp, "result", "store-path");
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert_eq!(
        normalise(&r.stderr, &tmp),
        "repro: <tmp>/result and <tmp>/store-path are the same folder (<tmp>/store-path); a folder always matches itself, so pass two different build folders\n"
    );
}

#[test]
fn files_the_manifest_does_not_describe_are_reported() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    build_folder(&tmp.join("b"), &release());
    fs::write(tmp.join("b").join(X86).join("camhub-ip.real"), b"other").unwrap();
    let r = compare(&tmp, "a", "b");
    assert!(
        r.stdout.contains(
            "INFO : files in B that its manifest does not describe (not checked):\n  - x86_64-unknown-linux-gnu/camhub-ip.real\n"
        ),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0);
}

#[test]
fn differing_build_modes_are_a_metadata_diff() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    build_folder(&tmp.join("b"), &release());
    for (side, mode) in [("a", "nix-cross-from-x86_64-linux"), ("b", "nix-native")] {
        let path = tmp.join(side).join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        m["build"]["build_modes"] = serde_json::json!({ ARM: mode, X86: "nix-native" });
        fs::write(&path, m.to_string()).unwrap();
    }
    let r = compare(&tmp, "a", "b");
    assert!(
        r.stdout.contains(
            "DIFF: build mode mismatch for ip_camera_hub | aarch64-unknown-linux-gnu | camhub-ip:\n  A: nix-cross-from-x86_64-linux\n  B: nix-native\n  (binaries not compared: their build inputs differ)\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("OK   : server | x86_64-unknown-linux-gnu")
    );
    assert_eq!(r.code, 1);
}

#[test]
fn json_output_carries_the_same_facts() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release()[..2]);
    let mut b = release();
    b[1].content = Some(b"hub arm, rebuilt differently".to_vec());
    build_folder(&tmp.join("b"), &b);
    let r = run(repro()
        .arg("compare")
        .arg("--json")
        .arg(tmp.join("a"))
        .arg(tmp.join("b")));
    assert_eq!(r.code, 1);
    let report: Report = serde_json::from_str(&r.stdout).expect("one JSON document");
    assert!(!report.passed);
    assert_eq!(report.smaller, "A");
    assert_eq!(
        report.extras,
        ["server | x86_64-unknown-linux-gnu | camhub-server"]
    );
    assert!(report.missing.is_empty());
    let statuses: Vec<(&str, Status)> = report
        .results
        .iter()
        .map(|r| (r.key.as_str(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (
                "ip_camera_hub | aarch64-unknown-linux-gnu | camhub-ip",
                Status::Diff
            ),
            (
                "ip_camera_hub | x86_64-unknown-linux-gnu | camhub-ip",
                Status::Ok
            ),
        ]
    );
    let diff = &report.results[0].diffs[0];
    assert_eq!(diff.field, "sha256");
    assert_eq!(diff.a, sha256_hex(b"hub arm"));
    assert_eq!(diff.b, sha256_hex(b"hub arm, rebuilt differently"));
    assert_eq!(
        report.results[1].a_sha256.as_deref(),
        Some(sha256_hex(b"hub x86").as_str())
    );
}

#[test]
fn colour_only_when_asked_for_and_never_with_no_color() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    build_folder(&tmp.join("b"), &release());
    let piped = compare(&tmp, "a", "b");
    assert!(!piped.stdout.contains('\x1b'));
    let always = run(repro()
        .args(["--color", "always", "compare"])
        .arg(tmp.join("a"))
        .arg(tmp.join("b")));
    assert!(
        always
            .stdout
            .contains("\x1b[32mReproducibility check PASSED\x1b[0m"),
        "{}",
        always.stdout
    );
    let no_color = run(repro()
        .env("NO_COLOR", "1")
        .args(["--color", "always", "compare"])
        .arg(tmp.join("a"))
        .arg(tmp.join("b")));
    assert_eq!(no_color.stdout, piped.stdout);
}

#[test]
fn a_reader_that_goes_away_is_not_an_error_and_the_verdict_still_decides_the_exit_code() {
    let (_guard, tmp) = tmp();
    let many: Vec<Art> = (0..2000)
        .map(|i| art(&format!("p{i}"), X86, "bin", b"same"))
        .collect();
    build_folder(&tmp.join("a"), &many);
    build_folder(&tmp.join("b"), &many);
    let mut child = repro()
        .arg("compare")
        .arg(tmp.join("a"))
        .arg(tmp.join("b"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn artifacts_are_matched_by_their_three_fields_not_a_joined_string() {
    // Joined with ` | `, both read `server | edge | x86_64-unknown-linux-gnu | camhub-server`.
    let (_guard, tmp) = tmp();
    build_folder(
        &tmp.join("a"),
        &[art("server | edge", X86, "camhub-server", b"same bytes")],
    );
    build_folder(
        &tmp.join("b"),
        &[art(
            "server",
            &format!("edge | {X86}"),
            "camhub-server",
            b"same bytes",
        )],
    );
    let r = compare(&tmp, "a", "b");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "FAIL: B does not contain all artifacts of A:\n  - server | edge | x86_64-unknown-linux-gnu | camhub-server\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .ends_with("0 OK, 0 DIFF, 0 FAIL, 1 missing, 1 extra\nReproducibility check FAILED\n"),
        "{}",
        r.stdout
    );
}

/// The release in Secluso's newer layout, every artifact with its sha256.
fn newer_layout() -> Vec<Art> {
    release()
        .into_iter()
        .map(|a| {
            a.with(|a| {
                a.bin_path = format!("artifacts/{}/{}", a.target, a.bin);
                a.sha256 = Some(sha256_hex(a.content.as_ref().unwrap()));
            })
        })
        .collect()
}

#[test]
fn secluso_newer_layout_requires_every_sha256_as_lowercase_hex() {
    // Secluso's releases/lib/compare.bash fails each of these; so must we.
    let server = format!("artifacts/{X86}/camhub-server");
    type Change = dyn Fn(&mut Art);
    let cases: [(&str, &Change, String); 3] = [
        (
            "absent",
            &|a| a.sha256 = None,
            format!(
                "  B {server}: the manifest records no sha256, which Secluso's artifacts/ layout requires\n"
            ),
        ),
        (
            "uppercase",
            &|a| a.sha256 = a.sha256.as_ref().map(|s| s.to_uppercase()),
            format!(
                "  B {server}: manifest sha256 {} is not lowercase hex; it must be exactly the file's {}\n",
                sha256_hex(b"server x86").to_uppercase(),
                sha256_hex(b"server x86")
            ),
        ),
        (
            "null",
            &|a| a.sha256 = Some("NULL".into()),
            format!(
                "  B {server}: the manifest records no sha256, which Secluso's artifacts/ layout requires\n"
            ),
        ),
    ];
    for (what, change, says) in cases {
        let (_guard, tmp) = tmp();
        build_folder(&tmp.join("a"), &newer_layout());
        let mut b = newer_layout();
        change(&mut b[2]);
        build_folder(&tmp.join("b"), &b);
        if what == "null" {
            let path = tmp.join("b/manifest.json");
            let text = fs::read_to_string(&path).unwrap();
            fs::write(&path, text.replace("\"NULL\"", "null")).unwrap();
        }
        let r = compare(&tmp, "a", "b");
        assert_eq!(r.code, 1, "{what}: {}", r.stdout);
        assert!(
            r.stdout.contains(&says),
            "{what}: expected {says:?} in\n{}",
            r.stdout
        );
        assert!(
            r.stdout.ends_with("Reproducibility check FAILED\n"),
            "{what}"
        );
    }
}

#[test]
fn secluso_newer_layout_refuses_any_symlink_in_a_bin_path() {
    // Inside the folder, pointing at a file with the right bytes: the older
    // layout follows it (what people install), Secluso's newer one refuses it.
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &newer_layout());
    build_folder(&tmp.join("b"), &newer_layout());
    let file = tmp.join("b/artifacts").join(X86).join("camhub-server");
    fs::rename(&file, tmp.join("b/server-real")).unwrap();
    std::os::unix::fs::symlink("../../server-real", &file).unwrap();
    let r = compare(&tmp, "a", "b");
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        normalise(&r.stderr, &tmp).contains(&format!(
            "<tmp>/b/manifest.json: artifact `server | {X86} | camhub-server`: unsafe bin_path: bin_path `artifacts/{X86}/camhub-server` passes through the symlink `artifacts/{X86}/camhub-server`; Secluso's artifacts/ layout allows none"
        )),
        "{}",
        r.stderr
    );

    // A folder on the way.
    let (_guard2, tmp) = common::tmp();
    build_folder(&tmp.join("a"), &newer_layout());
    build_folder(&tmp.join("b"), &newer_layout());
    fs::rename(tmp.join("b/artifacts").join(X86), tmp.join("b/x86-real")).unwrap();
    std::os::unix::fs::symlink("../x86-real", tmp.join("b/artifacts").join(X86)).unwrap();
    let r = compare(&tmp, "a", "b");
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr
            .contains(&format!("passes through the symlink `artifacts/{X86}`")),
        "{}",
        r.stderr
    );
}
