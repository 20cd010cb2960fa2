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
Reproducibility check PASSED: 3 of 3 artifacts of <tmp>/a and 3 of 3 artifacts of <tmp>/b checked, all identical
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
    // Secluso's one-line form for crate and version.
    let expected = format!(
        "DIFF: crate mismatch for {key}: ip_camera_hub vs camera_hub
DIFF: version mismatch for {key}: 0.1.0 vs 0.2.0
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
    let r = Run {
        stdout: normalise(&r.stdout, &tmp),
        ..r
    };
    assert!(
        r.stdout.contains(
            "INFO : Extra artifacts present only in <tmp>/b:\n  - server|x86_64-unknown-linux-gnu|camhub-server\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .ends_with("2 OK, 0 DIFF, 0 FAIL, 0 missing, 1 extra\nReproducibility check PASSED: 2 of 2 artifacts of <tmp>/a and 2 of 3 artifacts of <tmp>/b checked, all identical; 1 only in <tmp>/b, not checked\n"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0);
    // The rule is symmetric: the smaller side may be either argument.
    let r = compare(&tmp, "b", "a");
    assert!(
        r.stdout.contains(&format!(
            "INFO : Extra artifacts present only in {}:",
            tmp.join("b").display()
        )),
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
        normalise(&r.stdout, &tmp).contains(
            "FAIL: <tmp>/b does not contain all artifacts of <tmp>/a:\n  - ip_camera_hub|aarch64-unknown-linux-gnu|camhub-ip\n"
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
    let stdout = normalise(&r.stdout, &tmp);
    for expected in [
        "FAIL: cannot check ip_camera_hub | x86_64-unknown-linux-gnu | camhub-ip:\n  <tmp>/b/x86_64-unknown-linux-gnu/camhub-ip: file is missing\n",
        "FAIL: cannot check ip_camera_hub | aarch64-unknown-linux-gnu | camhub-ip:\n  <tmp>/b/aarch64-unknown-linux-gnu/camhub-ip: not a regular file\n",
        "FAIL: cannot check server | x86_64-unknown-linux-gnu | camhub-server:\n  <tmp>/b/x86_64-unknown-linux-gnu/camhub-server: not a regular file\n",
    ] {
        assert!(
            stdout.contains(expected),
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
        "  <tmp>/a/x86_64-unknown-linux-gnu/camhub-server: manifest sha256 {} does not match the file, which hashes to {}\n",
        "ab".repeat(32),
        sha256_hex(b"s")
    );
    assert!(
        normalise(&r.stdout, &tmp).contains(&expected),
        "{}",
        r.stdout
    );
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
            .contains("3 OK, 0 DIFF, 0 FAIL, 0 missing, 0 extra\nReproducibility check PASSED: 3 of 3 artifacts"),
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
        normalise(&r.stdout, &tmp).contains(
            "INFO : files in <tmp>/b that its manifest does not describe (not checked):\n  - x86_64-unknown-linux-gnu/camhub-ip.real\n"
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
        ["server|x86_64-unknown-linux-gnu|camhub-server"]
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
            .contains("\x1b[32mReproducibility check PASSED: 3 of 3 artifacts of "),
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
        normalise(&r.stdout, &tmp).contains(
            "FAIL: <tmp>/b does not contain all artifacts of <tmp>/a:\n  - server | edge|x86_64-unknown-linux-gnu|camhub-server\n"
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
                "  <tmp>/b/{server}: the manifest records no sha256, which Secluso's artifacts/ layout requires\n"
            ),
        ),
        (
            "uppercase",
            &|a| a.sha256 = a.sha256.as_ref().map(|s| s.to_uppercase()),
            format!(
                "  <tmp>/b/{server}: manifest sha256 {} is not lowercase hex; it must be exactly the file's {}\n",
                sha256_hex(b"server x86").to_uppercase(),
                sha256_hex(b"server x86")
            ),
        ),
        (
            "null",
            &|a| a.sha256 = Some("NULL".into()),
            format!(
                "  <tmp>/b/{server}: the manifest records no sha256, which Secluso's artifacts/ layout requires\n"
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
            normalise(&r.stdout, &tmp).contains(&says),
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

/// `repro compare sub release` run from `dir`, the sides named relatively as a user types them.
fn compare_in(dir: &std::path::Path, args: &[&str]) -> Run {
    run(repro().arg("compare").args(args).current_dir(dir))
}

#[test]
fn a_pass_says_how_much_of_each_side_was_checked() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("sub"), &release()[1..2]);
    build_folder(&tmp.join("release"), &release());
    let r = compare_in(&tmp, &["sub", "release"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .starts_with("A: sub (1 artifact)\nB: release (3 artifacts)\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with(
            "\n1 OK, 0 DIFF, 0 FAIL, 0 missing, 2 extra
Reproducibility check PASSED: 1 of 1 artifact of sub and 1 of 3 artifacts of release checked, all identical; 2 only in release, not checked
"
        ),
        "{}",
        r.stdout
    );
    // Either order; the counts follow the sides.
    let r = compare_in(&tmp, &["release", "sub"]);
    assert!(
        r.stdout.ends_with(
            "Reproducibility check PASSED: 1 of 3 artifacts of release and 1 of 1 artifact of sub checked, all identical; 2 only in release, not checked\n"
        ),
        "{}",
        r.stdout
    );

    let r = compare_in(&tmp, &["--json", "sub", "release"]);
    assert_eq!(r.code, 0);
    let report: Report = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report.schema_version, 1);
    assert_eq!(
        (
            report.a.dir.as_str(),
            report.a.artifacts,
            report.a.compared,
            report.a.identical,
            report.a.not_compared
        ),
        ("sub", 1, 1, 1, 0)
    );
    assert_eq!(
        (
            report.b.dir.as_str(),
            report.b.artifacts,
            report.b.compared,
            report.b.identical,
            report.b.not_compared
        ),
        ("release", 3, 1, 1, 2)
    );
    assert_eq!(
        (
            report.counts.ok,
            report.counts.diff,
            report.counts.fail,
            report.counts.missing,
            report.counts.extra
        ),
        (1, 0, 0, 0, 2)
    );
}

#[test]
fn a_release_folder_laid_out_as_readme_says_draws_no_warning_but_unknown_files_do() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("result"), &release());
    let release_dir = tmp.join("release");
    build_folder(&release_dir, &release());
    fs::write(release_dir.join("SHA256SUMS"), "sums\n").unwrap();
    let attestations = release_dir.join("attestations");
    fs::create_dir(&attestations).unwrap();
    for name in [
        "alice.intoto.json",
        "alice.intoto.json.sig",
        "alice.intoto.jsonl",
    ] {
        fs::write(attestations.join(name), "x").unwrap();
    }
    // Unknown: still reported, including a known name that is not a regular file.
    fs::write(attestations.join("notes.txt"), "x").unwrap();
    fs::write(release_dir.join(X86).join("SHA256SUMS"), "x").unwrap();
    std::os::unix::fs::symlink("alice.intoto.json", attestations.join("bob.intoto.json")).unwrap();
    let r = compare_in(&tmp, &["result", "release"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "INFO : files in release that its manifest does not describe (not checked):
  - attestations/bob.intoto.json
  - attestations/notes.txt
  - {X86}/SHA256SUMS
\n"
        )),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("alice"), "{}", r.stdout);
    let r = compare_in(&tmp, &["--json", "result", "release"]);
    let report: Report = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        report.b.companion_files,
        [
            "SHA256SUMS",
            "attestations/alice.intoto.json",
            "attestations/alice.intoto.json.sig",
            "attestations/alice.intoto.jsonl"
        ]
    );
    assert_eq!(report.b.undescribed_files.len(), 3);
    assert!(report.a.companion_files.is_empty());
}

#[test]
fn secluso_deploy_layout_nested_below_the_triple_is_compared() {
    // Secluso's deploy pipeline: artifacts/<triple>/bundle/appimage/<file>.
    let deploy = |content: &[u8]| {
        let name = "Secluso_0.1.0_amd64.AppImage";
        art("deploy_linux", X86, name, content).with(|a| {
            a.bin_path = format!("artifacts/{X86}/bundle/appimage/{name}");
            a.sha256 = Some(sha256_hex(content));
        })
    };
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("run1"), &[deploy(b"appimage")]);
    build_folder(&tmp.join("run2"), &[deploy(b"appimage")]);
    let r = compare_in(&tmp, &["run1", "run2"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&format!("OK   : deploy_linux | {X86} | Secluso_0.1.0_amd64.AppImage (crate=deploy_linux v0.1.0, sha={})", sha256_hex(b"appimage"))), "{}", r.stdout);

    build_folder(&tmp.join("run3"), &[deploy(b"other appimage")]);
    let r = compare_in(&tmp, &["run1", "run3"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("DIFF: binary hash mismatch for deploy_linux"),
        "{}",
        r.stdout
    );

    // The same safety rules: a recorded sha256 is required, and no symlink on the way.
    build_folder(
        &tmp.join("run4"),
        &[deploy(b"appimage").with(|a| a.sha256 = None)],
    );
    let r = compare_in(&tmp, &["run1", "run4"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("the manifest records no sha256, which Secluso's artifacts/ layout requires"),
        "{}",
        r.stdout
    );
    build_folder(&tmp.join("run5"), &[deploy(b"appimage")]);
    let bundle = tmp.join("run5/artifacts").join(X86).join("bundle");
    fs::rename(&bundle, tmp.join("run5/elsewhere")).unwrap();
    std::os::unix::fs::symlink("../../elsewhere", &bundle).unwrap();
    let r = compare_in(&tmp, &["run1", "run5"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "passes through the symlink `artifacts/{X86}/bundle`"
        )),
        "{}",
        r.stderr
    );
    // A file named other than its bin, or beneath another triple, is still refused.
    build_folder(
        &tmp.join("run6"),
        &[deploy(b"appimage")
            .with(|a| a.bin_path = format!("artifacts/{X86}/bundle/appimage/other"))],
    );
    let r = compare_in(&tmp, &["run1", "run6"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("does not name the artifact's own file"),
        "{}",
        r.stderr
    );
}

#[test]
fn source_rev_must_agree_when_both_sides_name_it_and_the_release_version_is_only_a_label() {
    let (_guard, tmp) = tmp();
    let rev_a = "0123456789abcdef0123456789abcdef01234567";
    let rev_b = "89abcdef0123456789abcdef0123456789abcdef";
    let set = |side: &str, version: Option<&str>, rev: Option<&str>| {
        let path = tmp.join(side).join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        m["build"]["version"] = serde_json::json!(version);
        m["build"]["source_rev"] = serde_json::json!(rev);
        if version.is_none() {
            m["build"].as_object_mut().unwrap().remove("version");
        }
        if rev.is_none() {
            m["build"].as_object_mut().unwrap().remove("source_rev");
        }
        fs::write(&path, m.to_string()).unwrap();
    };
    build_folder(&tmp.join("a"), &release());
    build_folder(&tmp.join("b"), &release());

    // A rebuild of the same release: same bytes, same release.
    set("a", Some("0.2.0"), Some(rev_a));
    set("b", Some("0.2.0"), Some(rev_a));
    let r = compare(&tmp, "a", "b");
    assert_eq!(r.code, 0, "{}", r.stdout);

    // One side from an older repro (or a dirty tree): nothing to hold it to.
    set("b", None, None);
    assert_eq!(compare(&tmp, "a", "b").code, 0);

    // The same bytes from another commit are not a rebuild of this release.
    set("b", Some("0.2.0"), Some(rev_b));
    let r = compare(&tmp, "a", "b");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "DIFF: source revision mismatch for server | x86_64-unknown-linux-gnu | camhub-server:\n  A: {rev_a}\n  B: {rev_b}\n  (binaries not compared: their build inputs differ)\n"
        )),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("release version"), "{}", r.stdout);

    // Another version label on the same commit's bytes: still a rebuild
    // (a Nix rebuild records Cargo.toml's version, the release may carry its own).
    set("b", Some("0.3.0"), Some(rev_a));
    let r = run(repro()
        .arg("compare")
        .arg("--json")
        .arg(tmp.join("a"))
        .arg(tmp.join("b")));
    assert_eq!(r.code, 0, "{}", r.stdout);
    let report: Report = serde_json::from_str(&r.stdout).unwrap();
    assert!(report.passed);
    assert!(report.results.iter().all(|a| a.diffs.is_empty()));
}
