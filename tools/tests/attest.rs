//! `repro attest` and `repro verify` with real SSH keys made by ssh-keygen,
//! whose own `-Y verify` must accept our signatures.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use repro::attest::{AttestationStatus, NAMESPACE, VerifyReport};

struct Signer {
    key: PathBuf,
    public: String,
}

fn keygen(dir: &Path, name: &str) -> Signer {
    let key = dir.join(format!("{name}_ed25519"));
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen is installed");
    assert!(status.success());
    let public = fs::read_to_string(key.with_extension("pub"))
        .unwrap_or_else(|_| fs::read_to_string(format!("{}.pub", key.display())).unwrap());
    Signer {
        key,
        public: public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

struct World {
    _guard: tempfile::TempDir,
    tmp: PathBuf,
    signers: Vec<(&'static str, Signer)>,
}

impl World {
    /// alice, bob and carol are trusted; eve is not.
    fn new() -> World {
        let (guard, tmp) = tmp();
        let signers: Vec<(&'static str, Signer)> = ["alice", "bob", "carol", "eve"]
            .into_iter()
            .map(|n| (n, keygen(&tmp, n)))
            .collect();
        let allowed: String = signers
            .iter()
            .filter(|(n, _)| *n != "eve")
            .map(|(n, s)| format!("{n}@example.org {}\n", s.public))
            .collect();
        fs::write(tmp.join("allowed_signers"), allowed).unwrap();
        build_folder(&tmp.join("release"), &release());
        World {
            _guard: guard,
            tmp,
            signers,
        }
    }

    fn key(&self, who: &str) -> &Path {
        &self.signers.iter().find(|(n, _)| *n == who).unwrap().1.key
    }

    /// `who` rebuilds (a folder with `arts`) and attests it as `name`.
    fn attest(&self, who: &str, name: &str, arts: &[Art]) -> Run {
        let folder = self.tmp.join(format!("rebuild-{name}"));
        build_folder(&folder, arts);
        run(repro()
            .arg("attest")
            .arg(&folder)
            .arg("--key")
            .arg(self.key(who))
            .args(["--name", name, "--out"])
            .arg(self.tmp.join("atts")))
    }

    fn verify(&self, min: usize) -> (Run, VerifyReport) {
        let text = run(&mut self.verify_cmd(min, false));
        let json = run(&mut self.verify_cmd(min, true));
        assert_eq!(text.code, json.code);
        let report: VerifyReport = serde_json::from_str(&json.stdout).unwrap();
        (text, report)
    }

    fn verify_cmd(&self, min: usize, json: bool) -> Command {
        let mut cmd = repro();
        cmd.arg("verify")
            .arg(self.tmp.join("release"))
            .arg("--attestations")
            .arg(self.tmp.join("atts"))
            .arg("--allowed-signers")
            .arg(self.tmp.join("allowed_signers"))
            .args(["--min", &min.to_string()]);
        if json {
            cmd.arg("--json");
        }
        cmd
    }
}

fn statuses(report: &VerifyReport) -> Vec<(String, AttestationStatus)> {
    report
        .attestations
        .iter()
        .map(|a| (a.file.clone(), a.status.clone()))
        .collect()
}

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
        "OK   : {X86}/camhub-server sha={}: agreed by alice@example.org, bob@example.org (2 of 2 needed)\n",
        sha256_hex(b"server x86")
    )), "{}", r.stdout);
    assert!(r.stdout.ends_with("\nVerification PASSED\n"));
    assert!(report.passed);
    assert!(
        report
            .artifacts
            .iter()
            .all(|a| a.agreed == ["alice@example.org", "bob@example.org"])
    );
    // Not enough for three.
    let (r, report) = w.verify(3);
    assert_eq!(r.code, 1);
    assert!(!report.passed);
    assert!(r.stdout.contains("(2 of 3 needed)"));
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
    assert!(r.stdout.contains("NOPE : bob.intoto.json: not counted: the signature does not verify: the statement or its signature was altered\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("NOPE : eve.intoto.json: not counted: key SHA256:"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("(1 of 2 needed)"));
}

#[test]
fn the_same_signer_twice_is_counted_once() {
    let w = World::new();
    w.attest("alice", "alice", &release());
    w.attest("alice", "alice-laptop", &release());
    let (r, report) = w.verify(2);
    assert_eq!(r.code, 1);
    assert_eq!(report.attestations[1].status, AttestationStatus::Duplicate);
    assert!(
        report
            .artifacts
            .iter()
            .all(|a| a.agreed == ["alice@example.org"])
    );
    assert!(
        r.stdout
            .contains("agreed by alice@example.org (1 of 2 needed)"),
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
        report.attestations[1].status,
        AttestationStatus::OtherRelease
    );
    assert!(
        r.stdout
            .contains("(bob@example.org): not counted: for a different release: "),
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
        report.attestations[1].status,
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
    assert!(r.stdout.ends_with("\nVerification FAILED\n"));

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
