//! `repro attest` and `repro verify` with real SSH keys made by ssh-keygen,
//! whose own `-Y verify` must accept our signatures.

mod attest_world;
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use attest_world::*;
use common::*;
use repro::attest::{AttestationFormat, AttestationStatus, NAMESPACE, VerifyReport};

#[test]
fn ssh_keygen_accepts_our_signatures() {
    let w = World::new();
    let r = w.attest("alice", "alice", &release());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("-n {NAMESPACE} -s ")),
        "{}",
        r.stdout
    );
    let statement = w.tmp.join("atts/alice.intoto.json");
    let check = |principal: &str| {
        Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(w.tmp.join("allowed_signers"))
            .args(["-I", principal, "-n", NAMESPACE, "-s"])
            .arg(w.tmp.join("atts/alice.intoto.json.sig"))
            .stdin(fs::File::open(&statement).unwrap())
            .output()
            .unwrap()
    };
    let ok = check("alice@example.org");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        String::from_utf8_lossy(&ok.stdout)
            .contains("Good \"camhub-rebuild-attestation\" signature for alice@example.org")
    );
    assert!(
        !check("bob@example.org").status.success(),
        "bound to alice's key"
    );

    // An in-toto Statement v1 naming every artifact with its sha256.
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&statement).unwrap()).unwrap();
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(s["subject"][0]["name"], format!("{ARM}/camhub-ip"));
    assert_eq!(s["subject"][0]["digest"]["sha256"], sha256_hex(b"hub arm"));
    assert_eq!(s["predicate"]["artifacts"][0]["rust_digest"], DIGEST);
    assert_eq!(s["subject"].as_array().unwrap().len(), 3);
}

#[test]
fn k_of_n_agreeing_signers_pass() {
    let w = World::new();
    for who in ["alice", "bob"] {
        assert_eq!(w.attest(who, who, &release()).code, 0);
    }
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains(&format!(
        "AGREED: {X86}/camhub-server sha256 {}: 2 trusted rebuilders agree (alice@example.org, bob@example.org), 2 needed\n",
        sha256_hex(b"server x86")
    )), "{}", r.stdout);
    assert!(
        r.stdout
            .ends_with("\nPASSED: 2 trusted rebuilders agree on all 3 artifacts, 2 needed\n"),
        "{}",
        r.stdout
    );
    assert!(report.passed);
    assert!(
        report
            .artifacts
            .iter()
            .all(|a| a.agreed == ["alice@example.org", "bob@example.org"])
    );
    // More than needed is said as such, not as "(2 of 1 needed)".
    let (r, report) = w.verify(1);
    assert_eq!(r.code, 0);
    assert_eq!(
        report.summary,
        "PASSED: 2 trusted rebuilders agree on all 3 artifacts, 1 needed"
    );
    assert!(
        r.stdout
            .contains("agree (alice@example.org, bob@example.org), 1 needed\n"),
        "{}",
        r.stdout
    );
    // Not enough for three.
    let (r, report) = w.verify(3);
    assert_eq!(r.code, 1);
    assert!(!report.passed);
    assert!(
        r.stdout
            .ends_with("\n\nFAILED: only 2 trusted rebuilders agree, 3 needed\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("TOO FEW: {X86}/camhub-server sha256 "))
    );
}

#[test]
fn one_trusted_signer_who_got_other_bytes_fails_loudly() {
    let w = World::new();
    for who in ["alice", "bob"] {
        w.attest(who, who, &release());
    }
    let mut other = release();
    other[2].content = Some(b"server x86, built differently".to_vec());
    assert_eq!(w.attest("carol", "carol", &other).code, 0);
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains(&format!(
        "DISAGREE: {X86}/camhub-server: carol@example.org attested {} but the file hashes to {}\n",
        sha256_hex(b"server x86, built differently"),
        sha256_hex(b"server x86")
    )), "{}", r.stdout);
    let server = report
        .artifacts
        .iter()
        .find(|a| a.name.ends_with("camhub-server"))
        .unwrap();
    assert_eq!(server.disagreed[0].principal, "carol@example.org");
    assert!(
        !report.passed,
        "2 agree, but a trusted rebuilder saw other bytes"
    );
}

#[test]
fn tampered_untrusted_and_malformed_attestations_never_count() {
    let w = World::new();
    w.attest("alice", "alice", &release());
    w.attest("bob", "bob", &release());
    w.attest("eve", "eve", &release());
    w.sshsig_only();
    // bob's statement is edited after signing.
    let bob = w.tmp.join("atts/bob.intoto.json");
    let edited = fs::read_to_string(&bob)
        .unwrap()
        .replace("\"builder\": \"bob\"", "\"builder\": \"bobby\"");
    fs::write(&bob, edited).unwrap();
    // A statement with no signature, and a signature that is not one.
    fs::copy(
        w.tmp.join("atts/alice.intoto.json"),
        w.tmp.join("atts/unsigned.intoto.json"),
    )
    .unwrap();
    fs::copy(
        w.tmp.join("atts/alice.intoto.json"),
        w.tmp.join("atts/junk.intoto.json"),
    )
    .unwrap();
    fs::write(w.tmp.join("atts/junk.intoto.json.sig"), "not a signature").unwrap();
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 1);
    assert_eq!(
        statuses(&report),
        [
            ("alice.intoto.json".into(), AttestationStatus::Counted),
            ("bob.intoto.json".into(), AttestationStatus::BadSignature),
            ("eve.intoto.json".into(), AttestationStatus::Untrusted),
            ("junk.intoto.json".into(), AttestationStatus::Malformed),
            ("unsigned.intoto.json".into(), AttestationStatus::Malformed),
        ]
    );
    assert!(r.stdout.contains("BAD SIGNATURE: bob.intoto.json: not counted: the signature does not verify: the statement or its signature was altered\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("UNTRUSTED: eve.intoto.json: not counted: key SHA256:"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("MALFORMED: unsigned.intoto.json: not counted: no signature file "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "COUNTED: alice.intoto.json (alice@example.org): trusted signature, this release\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .ends_with("\nFAILED: only 1 trusted rebuilder agrees, 2 needed\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_same_signer_twice_is_counted_once() {
    let w = World::new();
    w.attest("alice", "alice", &release());
    w.attest("alice", "alice-laptop", &release());
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 1);
    assert_eq!(
        statuses(&report),
        [
            (
                "alice-laptop.intoto.json".into(),
                AttestationStatus::Counted
            ),
            (
                "alice-laptop.intoto.jsonl".into(),
                AttestationStatus::Duplicate
            ),
            ("alice.intoto.json".into(), AttestationStatus::Duplicate),
            ("alice.intoto.jsonl".into(), AttestationStatus::Duplicate),
        ]
    );
    assert!(r.stdout.contains("DUPLICATE: alice.intoto.json (alice@example.org): this signer is already counted (from alice-laptop.intoto.json); counted once\n"), "{}", r.stdout);
    assert!(
        report
            .artifacts
            .iter()
            .all(|a| a.agreed == ["alice@example.org"])
    );
    assert!(
        r.stdout
            .contains("1 trusted rebuilder agrees (alice@example.org), 2 needed"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_attestation_for_another_release_is_reported_and_not_counted() {
    let w = World::new();
    w.attest("alice", "alice", &release());
    let older: Vec<Art> = release()
        .into_iter()
        .map(|a| {
            a.with(|a| {
                a.version = "0.0.9".into();
                a.content = Some(b"older".to_vec());
            })
        })
        .collect();
    w.attest("bob", "bob", &older);
    let (r, report) = w.verify(1);
    assert_eq!(
        r.code, 0,
        "an old release's attestation neither counts nor blocks: {}",
        r.stdout
    );
    assert_eq!(
        status_of(&report, "bob.intoto.json"),
        AttestationStatus::OtherRelease
    );
    assert_eq!(
        status_of(&report, "bob.intoto.jsonl"),
        AttestationStatus::OtherRelease
    );
    assert!(
        r.stdout
            .contains("OTHER RELEASE: bob.intoto.json (bob@example.org): not counted: for a different release: "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(" 0.0.9 (lock 111111111111), this release has 0.1.0"),
        "{}",
        r.stdout
    );
}

#[test]
fn bad_input_is_unusable() {
    let w = World::new();
    let r = run(&mut w.verify_cmd(0, false));
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "repro: --min must be at least 1: zero signers prove nothing\n"
        )
    );
    fs::write(
        w.tmp.join("allowed_signers"),
        "alice@example.org ssh-ed25519\n",
    )
    .unwrap();
    let r = run(&mut w.verify_cmd(1, false));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("allowed_signers:1: the key has no data"),
        "{}",
        r.stderr
    );
    let r = run(repro()
        .arg("attest")
        .arg(w.tmp.join("release"))
        .arg("--key")
        .arg(w.key("alice"))
        .args(["--name", "../x"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--name `../x` must be a plain file name"),
        "{}",
        r.stderr
    );
}

/// Found by the allowed_signers fuzz target (fuzz/regressions/allowed_signers/):
/// an opening quote where the options or the key type start panicked.
#[test]
fn a_quote_where_the_options_or_the_key_start_is_refused_not_panicked_on() {
    let w = World::new();
    assert_eq!(w.attest("alice", "alice", &release()).code, 0);
    let key = w.signers[0].1.public.clone();
    for (line, why) in [
        (
            format!("alice \"{key}"),
            "unterminated quote in the options",
        ),
        (
            format!("alice namespaces=\"{NAMESPACE}\" \"{key}"),
            "not a public key",
        ),
    ] {
        fs::write(w.tmp.join("allowed_signers"), format!("{line}\n")).unwrap();
        let r = run(&mut w.verify_cmd(1, false));
        assert_eq!(r.code, 2, "{line:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("allowed_signers:1: {why}")),
            "{line:?}: {}",
            r.stderr
        );
        assert!(!ssh_keygen_accepts(
            &w,
            &w.tmp.join("allowed_signers"),
            "alice"
        ));
    }
}

#[test]
fn a_non_ascii_lock_hash_is_shown_not_panicked_on() {
    // Byte 12 falls inside `é`: slicing bytes there panics.
    let lock = "11111111111é11111111";
    let w = World::new();
    let mut ours = release();
    for a in &mut ours {
        a.lock = lock.into();
    }
    build_folder(&w.tmp.join("release"), &ours);
    w.attest("alice", "alice", &ours);
    let older: Vec<Art> = ours
        .into_iter()
        .map(|a| a.with(|a| a.version = "0.0.9".into()))
        .collect();
    w.attest("bob", "bob", &older);
    let (r, report) = w.verify(1);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        status_of(&report, "bob.intoto.json"),
        AttestationStatus::OtherRelease
    );
    assert_eq!(
        status_of(&report, "bob.intoto.jsonl"),
        AttestationStatus::OtherRelease
    );
    assert!(
        r.stdout
            .contains(" 0.0.9 (lock 11111111111é), this release has 0.1.0 (lock 11111111111é)"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_name_with_a_newline_or_control_character_is_refused() {
    let w = World::new();
    for (name, shown) in [
        ("alice\nbob", "alice\\nbob"),
        ("alice\x1b[31m", "alice\\u{1b}[31m"),
        ("alice\r", "alice\\r"),
    ] {
        let r = run(repro()
            .arg("attest")
            .arg(w.tmp.join("release"))
            .arg("--key")
            .arg(w.key("alice"))
            .args(["--name", name, "--out"])
            .arg(w.tmp.join("atts")));
        assert_eq!(r.code, 2, "{name:?}: {}", r.stdout);
        assert_eq!(
            r.stderr,
            format!(
                "repro: --name `{shown}` must be a plain file name without control characters (it names the attestation files)\n"
            )
        );
        assert!(!w.tmp.join("atts").exists(), "nothing written for {name:?}");
    }
}

#[test]
fn a_trusted_signers_disagreeing_attestation_counts_whatever_its_file_name() {
    // alice signs the real bytes as "alice-a" and other bytes as "alice-b":
    // the second is not a harmless duplicate, it is a trusted disagreement.
    let w = World::new();
    let mut other = release();
    other[2].content = Some(b"server x86, built differently".to_vec());
    for (who, name, arts) in [
        ("alice", "alice-a", release()),
        ("alice", "alice-b", other.clone()),
        ("bob", "bob", release()),
    ] {
        assert_eq!(w.attest(who, name, &arts).code, 0);
    }
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(!report.passed);
    assert!(r.stdout.contains(&format!(
        "DISAGREE: {X86}/camhub-server: alice@example.org attested {} but the file hashes to {}\n",
        sha256_hex(b"server x86, built differently"),
        sha256_hex(b"server x86")
    )), "{}", r.stdout);
    assert!(
        r.stdout.ends_with(&format!(
            "\nFAILED: 1 trusted rebuilder disagrees with the release (alice@example.org: {X86}/camhub-server sha256 differs)\n"
        )),
        "{}",
        r.stdout
    );

    // The same with the names swapped: the disagreeing one sorts first.
    let w = World::new();
    for (who, name, arts) in [
        ("alice", "alice-a", other),
        ("alice", "alice-b", release()),
        ("bob", "bob", release()),
    ] {
        assert_eq!(w.attest(who, name, &arts).code, 0);
    }
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(!report.passed);
    assert!(r.stdout.contains("DISAGREE: "), "{}", r.stdout);
}

/// Whether ssh-keygen's own `-Y verify` accepts alice's attestation for
/// `principal` with `allowed` as the allowed-signers file.
fn ssh_keygen_accepts(w: &World, allowed: &Path, principal: &str) -> bool {
    let statement = w.tmp.join("atts/alice.intoto.json");
    Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", principal, "-n", NAMESPACE, "-s"])
        .arg(w.tmp.join("atts/alice.intoto.json.sig"))
        .stdin(fs::File::open(statement).unwrap())
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn allowed_signers_lines_are_trusted_only_where_ssh_keygen_trusts_them() {
    let w = World::new();
    assert_eq!(w.attest("alice", "alice", &release()).code, 0);
    let key = &w.signers[0].1.public;
    let ns = NAMESPACE;
    // Each line alone, alice's key; (line, whether repro should trust it).
    let lines: Vec<(String, bool)> = vec![
        (format!("alice {key}"), true),
        (format!("alice namespaces=\"{ns}\" {key}"), true),
        (
            format!("alice NAMESPACES=\"other,{ns}\" {key} comment"),
            true,
        ),
        (format!("\"alice\" {key}"), true),
        (format!("alice,!alice {key}"), false),
        (format!("!alice {key}"), false),
        (format!("alice restrict {key}"), false),
        (format!("alice no-touch-required {key}"), false),
        (format!("alice namespaces=\"{ns}\",foo {key}"), false),
        (format!("alice namespaces=\"other\" {key}"), false),
        (format!("alice namespaces={ns} {key}"), false),
        (format!("alice cert-authority {key}"), false),
        (format!("alice valid-before=\"20000101\" {key}"), false),
        (format!("alice foo,namespaces=\"{ns}\" {key}"), false),
        // ssh-keygen reads a line ending in CR LF too.
        (format!("alice {key}\r"), true),
    ];
    let allowed = w.tmp.join("one_line");
    let mut trusted_by_both = 0;
    for (line, should_trust) in &lines {
        fs::write(&allowed, format!("{line}\n")).unwrap();
        let r = run(repro()
            .arg("verify")
            .arg(w.tmp.join("release"))
            .arg("--attestations")
            .arg(w.tmp.join("atts"))
            .arg("--allowed-signers")
            .arg(&allowed)
            .args(["--min", "1", "--json"]));
        let trusted = if r.code == 2 {
            None
        } else {
            let report: VerifyReport = serde_json::from_str(&r.stdout).unwrap();
            report
                .attestations
                .iter()
                .find(|a| a.status == AttestationStatus::Counted)
                .and_then(|a| a.principal.clone())
        };
        assert_eq!(
            trusted.is_some(),
            *should_trust,
            "{line:?}: {}{}",
            r.stdout,
            r.stderr
        );
        if let Some(principal) = trusted {
            assert!(
                ssh_keygen_accepts(&w, &allowed, &principal),
                "repro trusts {line:?} for {principal}, ssh-keygen does not"
            );
            trusted_by_both += 1;
        }
        // The one claim we rely on: where ssh-keygen refuses alice, so do we.
        if !ssh_keygen_accepts(&w, &allowed, "alice") {
            assert!(!should_trust, "{line:?}");
        }
    }
    assert_eq!(trusted_by_both, 5);
}

#[test]
fn rsa_and_ecdsa_signatures_that_ssh_keygen_makes_are_checked() {
    let w = World::new();
    assert_eq!(w.attest("alice", "alice", &release()).code, 0);
    let statement = fs::read(w.tmp.join("atts/alice.intoto.json")).unwrap();
    let mut allowed = String::new();
    for (kind, bits) in [
        ("rsa", "3072"),
        ("ecdsa", "256"),
        ("ecdsa", "384"),
        ("ecdsa", "521"),
    ] {
        let name = format!("{kind}{bits}");
        let key = w.tmp.join(&name);
        assert!(
            Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-b", bits, "-N", "", "-C", &name, "-f"])
                .arg(&key)
                .status()
                .unwrap()
                .success()
        );
        let file = w.tmp.join(format!("atts/{name}.intoto.json"));
        fs::write(&file, &statement).unwrap();
        assert!(
            Command::new("ssh-keygen")
                .args(["-Y", "sign", "-n", NAMESPACE, "-f"])
                .arg(&key)
                .arg(&file)
                .output()
                .unwrap()
                .status
                .success()
        );
        let public = fs::read_to_string(format!("{}.pub", key.display())).unwrap();
        allowed.push_str(&format!("{name}@example.org {public}"));
    }
    fs::write(w.tmp.join("allowed_signers"), allowed).unwrap();
    fs::remove_file(w.tmp.join("atts/alice.intoto.json")).unwrap();
    fs::remove_file(w.tmp.join("atts/alice.intoto.json.sig")).unwrap();
    fs::remove_file(w.tmp.join("atts/alice.intoto.jsonl")).unwrap();
    let (r, report) = w.verify(4);
    assert_eq!(
        statuses(&report)
            .into_iter()
            .map(|(_, s)| s)
            .collect::<Vec<_>>(),
        [const { AttestationStatus::Counted }; 4],
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!r.stdout.contains("altered"), "{}", r.stdout);
}

#[test]
fn verify_says_in_words_who_disagrees_and_how_many_are_needed() {
    let w = World::new();
    let mut other = release();
    other[2].content = Some(b"server x86, built differently".to_vec());
    assert_eq!(w.attest("alice", "alice", &release()).code, 0);
    assert_eq!(w.attest("carol", "carol", &other).code, 0);
    let (r, report) = w.verify(1);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let summary = format!(
        "FAILED: 1 trusted rebuilder disagrees with the release (carol@example.org: {X86}/camhub-server sha256 differs)"
    );
    assert_eq!(report.summary, summary);
    assert!(
        r.stdout.ends_with(&format!("\n\n{summary}\n")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!(
        "DISPUTED: {X86}/camhub-server sha256 {}: 1 trusted rebuilder agrees (alice@example.org), 1 disagrees (carol@example.org), 1 needed\n",
        sha256_hex(b"server x86")
    )), "{}", r.stdout);
    // The artifacts carol agrees on are agreed by both.
    assert!(r.stdout.contains(&format!(
        "AGREED: {X86}/camhub-ip sha256 {}: 2 trusted rebuilders agree (alice@example.org, carol@example.org), 1 needed\n",
        sha256_hex(b"hub x86")
    )), "{}", r.stdout);
    for cryptic in ["of 1 needed", "NOPE", "OK   :", "FAIL :", "Verification "] {
        assert!(!r.stdout.contains(cryptic), "{cryptic:?} in {}", r.stdout);
    }
}

#[test]
fn an_empty_attestations_folder_says_where_attestations_come_from() {
    let w = World::new();
    fs::create_dir(w.tmp.join("atts")).unwrap();
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 1);
    let atts = w.tmp.join("atts");
    let summary = format!(
        "FAILED: no attestations in {}; rebuilders publish them with `repro attest` (<name>.intoto.json with its .sig, and <name>.intoto.jsonl): put those published with the release in {}",
        atts.display(),
        atts.display()
    );
    assert_eq!(report.summary, summary);
    assert!(r.stdout.ends_with(&format!("{summary}\n")), "{}", r.stdout);
}

#[test]
fn attestations_that_all_fail_to_count_say_why() {
    let w = World::new();
    assert_eq!(w.attest("eve", "eve", &release()).code, 0);
    let (r, report) = w.verify(1);
    assert_eq!(r.code, 1);
    assert_eq!(
        report.summary,
        format!(
            "FAILED: none of the 2 attestations in {} counts (2 untrusted); 1 needed from trusted rebuilders for this release",
            w.tmp.join("atts").display()
        )
    );
    assert!(
        r.stdout.contains("UNTRUSTED: eve.intoto.jsonl: not counted: no signature by a key in the allowed-signers file (keyid "),
        "{}",
        r.stdout
    );
}

/// `repro attest` for the release with `key`.
fn attest_with_key(w: &World, key: &Path) -> Run {
    run(repro()
        .arg("attest")
        .arg(w.tmp.join("release"))
        .arg("--key")
        .arg(key)
        .args(["--name", "alice", "--out"])
        .arg(w.tmp.join("atts")))
}

#[test]
fn a_missing_key_or_a_public_key_is_named_as_such() {
    let w = World::new();
    let missing = w.tmp.join("no_such_key");
    let r = attest_with_key(&w, &missing);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        format!(
            "repro: {0}: no such file; pass your ed25519 OpenSSH private key (ssh-keygen -t ed25519 -N '' -f {0} creates one)\n",
            missing.display()
        )
    );
    let public = PathBuf::from(format!("{}.pub", w.key("alice").display()));
    let r = attest_with_key(&w, &public);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        format!(
            "repro: {}: that is a public key; pass the private key ({}) with --key, and publish this .pub for allowed_signers\n",
            public.display(),
            w.key("alice").display()
        )
    );
    // Anything else that is not a key: said once, with what a key looks like.
    let junk = w.tmp.join("junk_key");
    fs::write(&junk, "not a key\n").unwrap();
    let r = attest_with_key(&w, &junk);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {}: not an OpenSSH private key (",
            junk.display()
        )) && r.stderr.ends_with(
            "); pass the file ssh-keygen -t ed25519 wrote (it starts with -----BEGIN OPENSSH PRIVATE KEY-----)\n"
        ),
        "{}",
        r.stderr
    );
    assert!(!w.tmp.join("atts").exists(), "nothing written");
}

#[test]
fn a_public_key_passed_as_allowed_signers_is_named_with_the_fix_that_works() {
    let w = World::new();
    assert_eq!(w.attest("alice", "alice", &release()).code, 0);
    let public = PathBuf::from(format!("{}.pub", w.key("alice").display()));
    let verify = |allowed: &Path| {
        run(repro()
            .arg("verify")
            .arg(w.tmp.join("release"))
            .arg("--attestations")
            .arg(w.tmp.join("atts"))
            .arg("--allowed-signers")
            .arg(allowed)
            .args(["--min", "1"]))
    };
    let r = verify(&public);
    assert_eq!(r.code, 2);
    let prefix = format!(
        "repro: {}: that file is a public key, not an allowed_signers file: allowed_signers has one `<principal> <key>` line per trusted rebuilder; write it with: ",
        public.display()
    );
    let fix = r
        .stderr
        .strip_prefix(&prefix)
        .and_then(|rest| {
            rest.strip_suffix(
                " (the principal is the name verify reports, e.g. alice@example.org)\n",
            )
        })
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert_eq!(
        fix,
        format!(
            "echo \"<principal> $(cat {})\" >> allowed_signers",
            public.display()
        )
    );
    // The fix, run as printed, makes a file verify trusts.
    let fixed = Command::new("sh")
        .arg("-c")
        .arg(fix.replace("<principal>", "alice@example.org"))
        .current_dir(&w.tmp)
        .status()
        .unwrap();
    assert!(fixed.success());
    let r = verify(&w.tmp.join("allowed_signers_fixed_by_hand"));
    assert_eq!(r.code, 2, "no such file yet: {}", r.stdout);
    fs::rename(
        w.tmp.join("allowed_signers"),
        w.tmp.join("allowed_signers_fixed_by_hand"),
    )
    .unwrap();
    let r = verify(&w.tmp.join("allowed_signers_fixed_by_hand"));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("COUNTED: alice.intoto.json (alice@example.org)")
    );
}

/// The envelope `repro attest` wrote for `name`, parsed.
fn envelope(w: &World, name: &str) -> serde_json::Value {
    let text = fs::read_to_string(w.tmp.join(format!("atts/{name}.intoto.jsonl"))).unwrap();
    assert_eq!(text.lines().count(), 1, "one envelope, one line: {text}");
    assert!(text.ends_with("}\n"));
    serde_json::from_str(&text).unwrap()
}

fn write_envelope(w: &World, name: &str, value: &serde_json::Value) {
    fs::write(
        w.tmp.join(format!("atts/{name}.intoto.jsonl")),
        format!("{value}\n"),
    )
    .unwrap();
}

#[test]
fn the_dsse_envelope_carries_the_signed_statement_and_verify_counts_it_alone() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let w = World::new();
    let r = w.attest("alice", "alice", &release());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "wrote {}\n",
            w.tmp.join("atts/alice.intoto.jsonl").display()
        )),
        "{}",
        r.stdout
    );
    let env = envelope(&w, "alice");
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let payload = b64.decode(env["payload"].as_str().unwrap()).unwrap();
    assert_eq!(
        payload,
        fs::read(w.tmp.join("atts/alice.intoto.json")).unwrap(),
        "the same bytes the SSH signature covers"
    );
    let keyid = env["signatures"][0]["keyid"].as_str().unwrap().to_owned();
    assert!(
        r.stdout.contains(&format!("(DSSE keyid {keyid})")),
        "{}",
        r.stdout
    );
    // Without the SSHSIG form, the envelope alone counts.
    fs::remove_file(w.tmp.join("atts/alice.intoto.json")).unwrap();
    fs::remove_file(w.tmp.join("atts/alice.intoto.json.sig")).unwrap();
    let (r, report) = w.verify(1);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(report.attestations[0].format, AttestationFormat::Dsse);
    assert!(
        r.stdout.contains(
            "COUNTED: alice.intoto.jsonl (alice@example.org): trusted signature, this release\n"
        ),
        "{}",
        r.stdout
    );

    // The keyid is only a hint: a wrong one does not stop a good signature.
    let mut hinted = env.clone();
    hinted["signatures"][0]["keyid"] = "someone-else".into();
    write_envelope(&w, "alice", &hinted);
    assert_eq!(w.verify(1).0.code, 0);

    // An edited payload, re-encoded, does not verify.
    let edited = String::from_utf8(payload)
        .unwrap()
        .replace("\"builder\": \"alice\"", "\"builder\": \"mallory\"");
    let mut tampered = env.clone();
    tampered["payload"] = b64.encode(edited).into();
    write_envelope(&w, "alice", &tampered);
    let (r, report) = w.verify(1);
    assert_eq!(r.code, 1);
    assert_eq!(
        status_of(&report, "alice.intoto.jsonl"),
        AttestationStatus::BadSignature
    );
    assert!(r.stdout.contains("BAD SIGNATURE: alice.intoto.jsonl: not counted: the envelope's signature does not verify: the payload or its signature was altered\n"), "{}", r.stdout);

    // Nor does a payload type changed after signing (it is signed too).
    let mut retyped = env.clone();
    retyped["payloadType"] = "application/json".into();
    write_envelope(&w, "alice", &retyped);
    let (_, report) = w.verify(1);
    assert_eq!(
        status_of(&report, "alice.intoto.jsonl"),
        AttestationStatus::Malformed
    );
    for junk in [
        "",
        "{}",
        "not json",
        "{\"payload\":\"!!\",\"payloadType\":\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"AA==\"}]}",
    ] {
        fs::write(w.tmp.join("atts/alice.intoto.jsonl"), junk).unwrap();
        let (r, report) = w.verify(1);
        assert_eq!(r.code, 1, "{junk:?}");
        assert_eq!(
            status_of(&report, "alice.intoto.jsonl"),
            AttestationStatus::Malformed,
            "{junk:?}: {}",
            r.stdout
        );
    }
}

#[test]
fn a_signer_whose_envelope_disagrees_is_caught_even_if_the_sshsig_form_agrees() {
    use base64::Engine;
    let w = World::new();
    let mut other = release();
    other[2].content = Some(b"server x86, built differently".to_vec());
    assert_eq!(w.attest("alice", "alice-other", &other).code, 0);
    assert_eq!(w.attest("alice", "alice", &release()).code, 0);
    assert_eq!(w.attest("bob", "bob", &release()).code, 0);
    // Only the envelope of the disagreeing rebuild is kept.
    fs::remove_file(w.tmp.join("atts/alice-other.intoto.json")).unwrap();
    fs::remove_file(w.tmp.join("atts/alice-other.intoto.json.sig")).unwrap();
    let env = envelope(&w, "alice-other");
    let payload = base64::engine::general_purpose::STANDARD
        .decode(env["payload"].as_str().unwrap())
        .unwrap();
    assert!(
        String::from_utf8(payload)
            .unwrap()
            .contains(&sha256_hex(b"server x86, built differently"))
    );
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(!report.passed);
    assert_eq!(
        report.artifacts[2].disagreed[0].file,
        "alice-other.intoto.jsonl"
    );
}
