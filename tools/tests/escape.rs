//! Untrusted text (file names, manifest and attestation strings) cannot drive
//! the terminal or forge a verdict line: every human line escapes it.

mod common;

use std::fs;
use std::process::Command;

use common::*;

const FORGED: &str = "x\n\nReproducibility check \x1b[32mPASSED\x1b[8m";

/// No raw control character but the line ends, and exactly one verdict line.
fn assert_clean(stdout: &str, verdict_prefix: &str, verdict: &str) {
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in\n{stdout:?}"
    );
    let verdicts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with(verdict_prefix))
        .collect();
    assert_eq!(verdicts, [verdict], "{stdout}");
}

#[test]
fn compare_and_explain_escape_file_names_and_manifest_strings() {
    let (_guard, tmp) = tmp();
    // JSON escapes: the fixture writes these strings into manifest.json as they are.
    let hostile = |a: &mut Art| {
        a.package = "server\\u001b[2K".into();
        a.crate_name = "srv\\rOK".into();
        a.version = "1\\u001b]0;title\\u0007".into();
    };
    build_folder(
        &tmp.join("a"),
        &[art("p", X86, "camhub-server", b"a").with(hostile)],
    );
    build_folder(
        &tmp.join("b"),
        &[art("p", X86, "camhub-server", b"b").with(hostile)],
    );
    fs::write(tmp.join("b").join(FORGED), b"").unwrap();
    let r = run(repro().arg("compare").arg(tmp.join("a")).arg(tmp.join("b")));
    assert_eq!(r.code, 1);
    assert_clean(
        &r.stdout,
        "Reproducibility check",
        "Reproducibility check FAILED",
    );
    assert!(
        r.stdout
            .contains("  - x\\n\\nReproducibility check \\u{1b}[32mPASSED\\u{1b}[8m\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("DIFF: binary hash mismatch for server\\u{1b}[2K | "),
        "{}",
        r.stdout
    );

    // Inputs differ: the manifest strings themselves are printed.
    let mut b = art("p", X86, "camhub-server", b"a").with(hostile);
    b.version = "2\\u001b[8m".into();
    build_folder(&tmp.join("c"), &[b]);
    let r = run(repro().arg("compare").arg(tmp.join("a")).arg(tmp.join("c")));
    assert_clean(
        &r.stdout,
        "Reproducibility check",
        "Reproducibility check FAILED",
    );
    assert!(
        r.stdout
            .contains(" mismatch for server\\u{1b}[2K | x86_64-unknown-linux-gnu | camhub-server: 1\\u{1b}]0;title\\u{7} vs 2\\u{1b}[8m\n"),
        "{}",
        r.stdout
    );

    let r = run(repro().arg("explain").arg(tmp.join("a")).arg(tmp.join("b")));
    assert_eq!(r.code, 1);
    assert!(
        !r.stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{:?}",
        r.stdout
    );
    assert!(
        r.stdout.contains("EXPLAIN: server\\u{1b}[2K | "),
        "{}",
        r.stdout
    );
}

#[test]
fn a_target_or_bin_with_a_control_character_is_unusable_and_shown_escaped() {
    // They name files: `repro sums` would print them into SHA256SUMS lines.
    let (_guard, tmp) = tmp();
    build_folder(
        &tmp.join("a"),
        &[art("server", X86, "camhub\\nserver\\u001b[8m", b"s")],
    );
    let r = run(repro().arg("sums").arg(tmp.join("a")));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .contains("field `bin` `camhub\\nserver\\u{1b}[8m` contains a control character"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
}

#[test]
fn verify_escapes_attestation_file_names_and_their_contents() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("release"), &release());
    let key = tmp.join("k");
    assert!(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "k", "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen is installed")
            .success()
    );
    let public = fs::read_to_string(tmp.join("k.pub")).unwrap();
    fs::write(
        tmp.join("allowed_signers"),
        format!("alice\x1b[8m@example.org {public}"),
    )
    .unwrap();
    let atts = tmp.join("atts");
    fs::create_dir(&atts).unwrap();
    let forged = "x\n\nPASSED: 3 trusted rebuilders agree \x1b[32m\x1b[8m.intoto.json";
    fs::write(atts.join(forged), b"{}").unwrap();
    let r = run(repro()
        .arg("verify")
        .arg(tmp.join("release"))
        .arg("--attestations")
        .arg(&atts)
        .arg("--allowed-signers")
        .arg(tmp.join("allowed_signers"))
        .args(["--min", "1"]));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_clean(
        &r.stdout,
        "FAILED:",
        &format!(
            "FAILED: the 1 attestation in {} does not count (1 malformed); 1 needed from trusted rebuilders for this release",
            atts.display()
        ),
    );
    assert!(
        !r.stdout.lines().any(|l| l.starts_with("PASSED")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "MALFORMED: x\\n\\nPASSED: 3 trusted rebuilders agree \\u{1b}[32m\\u{1b}[8m.intoto.json: not counted: no signature file "
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(".intoto.json.sig\n"), "{}", r.stdout);
}
