//! `repro verify --rebuilders`: rebuilderd instances' signed in-toto links
//! and BAD verdicts (see rebuilderd_world), counted k-of-n by pinned daemon
//! key, never by folder.

mod attest_world;
mod common;
mod rebuilderd_world;

use std::fs;

use common::*;
use rebuilderd_world::*;
use repro::attest::{AttestationFormat, AttestationStatus, VerifyReport};

fn status(report: &VerifyReport, file: &str) -> (AttestationStatus, Option<String>) {
    let a = report
        .attestations
        .iter()
        .find(|a| a.file == file)
        .unwrap_or_else(|| panic!("{file} not reported: {report:#?}"));
    (a.status, a.principal.clone())
}

fn hub_x86() -> Art {
    release().remove(0)
}

const HUB_LINK: &str = "x86_64-unknown-linux-gnu/camhub-ip.link";

#[test]
fn two_trusted_instances_pass_with_k_from_the_rebuilders_file() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    w.confirm_all(&w.bob, "bob");
    let (r, report) = w.verify();
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(report.min, 2);
    assert_eq!(
        report.summary,
        "PASSED: 2 trusted rebuilders agree on all 3 artifacts, 2 needed"
    );
    for a in &report.artifacts {
        assert_eq!(a.agreed, ["rebuilderd:alice", "rebuilderd:bob"], "{a:?}");
        assert!(a.disagreed.is_empty() && a.missing.is_empty());
        assert_eq!(
            a.sha256,
            sha256_hex(&fs::read(w.tmp.join("release").join(&a.name)).unwrap())
        );
    }
    assert_eq!(report.attestations.len(), 6);
    assert!(
        report
            .attestations
            .iter()
            .all(|a| a.format == AttestationFormat::RebuilderdLink
                && a.status == AttestationStatus::Counted)
    );
    assert!(r.stdout.contains(&format!(
        "COUNTED: rebuilderd/alice/{HUB_LINK} (rebuilderd:alice): x86_64-unknown-linux-gnu/camhub-ip: rebuilt to the release's bytes\n"
    )), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("AGREED: x86_64-unknown-linux-gnu/camhub-ip sha256 ")
    );
}

#[test]
fn one_instance_is_too_few() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    let (r, report) = w.verify();
    assert_eq!(r.code, 1);
    assert_eq!(
        report.summary,
        "FAILED: only 1 trusted rebuilder agrees, 2 needed"
    );
    assert_eq!(report.artifacts[0].missing, ["rebuilderd:bob"]);
    assert!(r.stdout.contains("TOO FEW: "), "{}", r.stdout);
    // --min overrides k.
    let one = run(w.cmd(false).args(["--min", "1"]));
    assert_eq!(one.code, 0, "{}", one.stdout);
}

#[test]
fn a_bad_verdict_fails_naming_the_instance_and_binary() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    w.confirm_all(&w.bob, "bob");
    let hub = hub_x86();
    fs::remove_file(w.atts().join("rebuilderd/bob").join(HUB_LINK)).unwrap();
    w.store("bob", X86, "camhub-ip.bad.json", &w.bad("bob", &hub));
    // Nobody trusts mallory: her verdict changes nothing.
    w.store(
        "mallory",
        X86,
        "camhub-ip.bad.json",
        &w.bad("mallory", &hub),
    );
    let (r, report) = w.verify();
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        report.summary,
        "FAILED: 1 trusted rebuilder disagrees with the release (rebuilderd:bob: x86_64-unknown-linux-gnu/camhub-ip rebuilt to other bytes (BAD))"
    );
    assert!(r.stdout.contains(
        "REBUILT DIFFERENT: rebuilderd:bob rebuilt x86_64-unknown-linux-gnu/camhub-ip and got other bytes (BAD): rebuilderd/bob/x86_64-unknown-linux-gnu/camhub-ip.bad.json\n"
    ), "{}", r.stdout);
    let verdict = "rebuilderd/bob/x86_64-unknown-linux-gnu/camhub-ip.bad.json";
    assert_eq!(
        status(&report, verdict),
        (AttestationStatus::Counted, Some("rebuilderd:bob".into()))
    );
    assert_eq!(
        status(
            &report,
            "rebuilderd/mallory/x86_64-unknown-linux-gnu/camhub-ip.bad.json"
        ),
        (AttestationStatus::Untrusted, None)
    );
    let hub = &report
        .artifacts
        .iter()
        .find(|a| a.name == "x86_64-unknown-linux-gnu/camhub-ip")
        .unwrap();
    assert_eq!(hub.agreed, ["rebuilderd:alice"]);
    assert_eq!(hub.disagreed.len(), 1);
    assert_eq!(
        (
            hub.disagreed[0].principal.as_str(),
            hub.disagreed[0].sha256.as_str()
        ),
        ("rebuilderd:bob", "BAD")
    );
    // The other artifacts still pass on their own.
    assert_eq!(report.artifacts.iter().filter(|a| a.passed).count(), 2);
}

#[test]
fn a_valid_link_for_other_bytes_fails_naming_it() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    w.confirm_all(&w.bob, "bob");
    let hub = hub_x86();
    let other = w.link_of(
        &w.bob,
        &w.tmp.join("release"),
        &hub,
        b"hub x86, built differently",
    );
    w.store("bob", X86, "camhub-ip.link", &other);
    let (r, report) = w.verify();
    assert_eq!(r.code, 1);
    assert_eq!(
        report.summary,
        "FAILED: 1 trusted rebuilder disagrees with the release (rebuilderd:bob: x86_64-unknown-linux-gnu/camhub-ip sha256 differs)"
    );
    let theirs = sha256_hex(b"hub x86, built differently");
    assert!(r.stdout.contains(&format!(
        "DISAGREE: x86_64-unknown-linux-gnu/camhub-ip: rebuilderd:bob attested {theirs} but the file hashes to {}",
        sha256_hex(b"hub x86")
    )), "{}", r.stdout);
}

#[test]
fn a_link_counts_for_its_key_not_its_folder_and_once() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    // alice's links copied into bob's folder: still alice's, already counted.
    w.confirm_all(&w.alice, "bob");
    // mallory's honest link, filed as bob's: nobody trusts her key.
    let hub = hub_x86();
    let mallory = w.link_of(&w.mallory, &w.tmp.join("release"), &hub, b"hub x86");
    w.store("carol", X86, "camhub-ip.link", &mallory);
    let (r, report) = w.verify();
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        report.summary,
        "FAILED: only 1 trusted rebuilder agrees, 2 needed"
    );
    assert_eq!(
        status(&report, &format!("rebuilderd/bob/{HUB_LINK}")),
        (
            AttestationStatus::Duplicate,
            Some("rebuilderd:alice".into())
        )
    );
    assert_eq!(
        status(&report, &format!("rebuilderd/carol/{HUB_LINK}")),
        (AttestationStatus::Untrusted, None)
    );
    assert!(r.stdout.contains(&format!(
        "UNTRUSTED: rebuilderd/carol/{HUB_LINK}: not counted: no signature by a key in the rebuilders file\n"
    )), "{}", r.stdout);
    assert!(
        report
            .artifacts
            .iter()
            .all(|a| a.agreed == ["rebuilderd:alice"])
    );
}

#[test]
fn a_tampered_link_is_a_bad_signature() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    w.confirm_all(&w.bob, "bob");
    let path = w.atts().join("rebuilderd/bob").join(HUB_LINK);
    let text = fs::read_to_string(&path).unwrap();
    // The product's sha256 changed by one digit.
    let ours = sha256_hex(b"hub x86");
    let flipped = format!(
        "{}{}",
        if ours.starts_with('0') { '1' } else { '0' },
        &ours[1..]
    );
    fs::write(&path, text.replace(&ours, &flipped)).unwrap();
    let (r, report) = w.verify();
    assert_eq!(r.code, 1);
    assert_eq!(
        status(&report, &format!("rebuilderd/bob/{HUB_LINK}")),
        (AttestationStatus::BadSignature, None)
    );
    assert!(r.stdout.contains(&format!(
        "BAD SIGNATURE: rebuilderd/bob/{HUB_LINK}: not counted: the signature by bob's key does not verify: the link was altered\n"
    )), "{}", r.stdout);
    // Tampering is not a disagreement: nobody trusted said those bytes.
    assert_eq!(
        report.summary,
        "FAILED: only 1 trusted rebuilder agrees on x86_64-unknown-linux-gnu/camhub-ip, 2 needed"
    );
}

#[test]
fn a_link_from_an_older_release_is_another_release() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    let old = w.tmp.join("old");
    release_folder(&old, &release(), "0.1.0");
    // bob rebuilt 0.1.0's hub to other bytes: about another release, so
    // neither a confirmation nor a disagreement.
    let link = w.link_of(&w.bob, &old, &hub_x86(), b"hub x86 of 0.1.0");
    w.store("bob", X86, "camhub-ip.link", &link);
    let (r, report) = w.verify();
    assert_eq!(r.code, 1);
    let (st, who) = status(&report, &format!("rebuilderd/bob/{HUB_LINK}"));
    assert_eq!(
        (st, who.as_deref()),
        (AttestationStatus::OtherRelease, Some("rebuilderd:bob"))
    );
    assert!(r.stdout.contains(&format!("OTHER RELEASE: rebuilderd/bob/{HUB_LINK} (rebuilderd:bob): not counted: for another release: its input x86_64-unknown-linux-gnu.json has sha256 ")), "{}", r.stdout);
    assert!(report.artifacts.iter().all(|a| a.disagreed.is_empty()));
    assert_eq!(
        report.summary,
        "FAILED: only 1 trusted rebuilder agrees, 2 needed"
    );
}

#[test]
fn hostile_files_are_malformed_never_a_crash() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    w.confirm_all(&w.bob, "bob");
    let big = vec![b' '; (1 << 20) + 1];
    w.store("eve", X86, "big.link", &big);
    w.store("eve", X86, "garbage.link", b"\x00\xffnot json");
    w.store("eve", X86, "verdict.bad.json", b"{\"instance\": 1}");
    w.store("eve", X86, "notes.txt", b"hello");
    let target = w.atts().join("rebuilderd/alice").join(HUB_LINK);
    std::os::unix::fs::symlink(
        &target,
        w.atts()
            .join("rebuilderd/eve")
            .join(X86)
            .join("camhub-ip.link"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        w.atts().join("rebuilderd/alice"),
        w.atts().join("rebuilderd/linked"),
    )
    .unwrap();
    mkfifo(&w.atts().join("rebuilderd/eve/fifo.link"));
    let deep = w.atts().join("rebuilderd/eve/a/b/c/d");
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("x.link"), b"{}").unwrap();
    let r = run_within(&mut w.cmd(true), 30);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let report: VerifyReport = serde_json::from_str(&r.stdout).unwrap();
    for (file, why) in [
        ("rebuilderd/eve/x86_64-unknown-linux-gnu/big.link", "larger"),
        (
            "rebuilderd/eve/x86_64-unknown-linux-gnu/garbage.link",
            "not JSON",
        ),
        (
            "rebuilderd/eve/x86_64-unknown-linux-gnu/verdict.bad.json",
            "not a BAD verdict",
        ),
        (
            "rebuilderd/eve/x86_64-unknown-linux-gnu/notes.txt",
            "neither",
        ),
        (
            "rebuilderd/eve/x86_64-unknown-linux-gnu/camhub-ip.link",
            "symlink",
        ),
        ("rebuilderd/linked", "symlink"),
        ("rebuilderd/eve/fifo.link", "regular"),
        ("rebuilderd/eve/a/b/c", "deeper"),
    ] {
        let a = report
            .attestations
            .iter()
            .find(|a| a.file == file)
            .unwrap_or_else(|| panic!("{file}: {report:#?}"));
        assert_eq!(a.status, AttestationStatus::Malformed, "{file}");
        assert!(a.detail.contains(why), "{file}: {}", a.detail);
    }
    assert!(!report.attestations.iter().any(|a| a.file.contains("/d/")));
    // The rebuilders file itself: unusable input, named with its fix.
    let missing = run(repro()
        .arg("verify")
        .arg(w.tmp.join("release"))
        .arg("--attestations")
        .arg(w.atts())
        .arg("--rebuilders")
        .arg(w.tmp.join("nope.toml")));
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("nope.toml: no such rebuilders file"),
        "{}",
        missing.stderr
    );
    assert_eq!(missing.stdout, "");
}

#[test]
fn ssh_principals_and_instances_count_apart() {
    use attest_world::keygen;
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    // An SSH signer whose principal is `alice` too: a second confirmer.
    let ssh = keygen(&w.tmp, "alice");
    fs::write(
        w.tmp.join("allowed_signers"),
        format!("alice {}\n", ssh.public),
    )
    .unwrap();
    let attest = run(repro()
        .arg("attest")
        .arg(w.tmp.join("release"))
        .arg("--key")
        .arg(&ssh.key)
        .args(["--name", "alice", "--out"])
        .arg(w.atts()));
    assert_eq!(attest.code, 0, "{}", attest.stderr);
    let both = run(w
        .cmd(true)
        .arg("--allowed-signers")
        .arg(w.tmp.join("allowed_signers")));
    assert_eq!(both.code, 0, "{}{}", both.stdout, both.stderr);
    let report: VerifyReport = serde_json::from_str(&both.stdout).unwrap();
    assert!(
        report
            .artifacts
            .iter()
            .all(|a| a.agreed == ["alice", "rebuilderd:alice"]),
        "{report:#?}"
    );
    // Without --rebuilders, the links are not read and --min is needed.
    let ssh_only = run(repro()
        .arg("verify")
        .arg(w.tmp.join("release"))
        .arg("--attestations")
        .arg(w.atts())
        .arg("--allowed-signers")
        .arg(w.tmp.join("allowed_signers"))
        .args(["--min", "2"]));
    assert_eq!(ssh_only.code, 1);
    assert!(
        !ssh_only.stdout.contains("rebuilderd/"),
        "{}",
        ssh_only.stdout
    );
    let neither = run(repro()
        .arg("verify")
        .arg(w.tmp.join("release"))
        .arg("--attestations")
        .arg(w.atts())
        .args(["--min", "1"]));
    assert_eq!(neither.code, 2);
    assert!(
        neither
            .stderr
            .contains("--allowed-signers <FILE>|--rebuilders <FILE>"),
        "{}",
        neither.stderr
    );
}

/// An SSH principal named exactly like an instance as verify lists it
/// (`rebuilderd:alice`) is, by name, the same confirmer: counted once, so
/// with k = 2 it does not stand in for a second instance.
#[test]
fn a_principal_named_like_a_listed_instance_counts_once() {
    use attest_world::keygen;
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    let ssh = keygen(&w.tmp, "rebuilderd:alice");
    fs::write(
        w.tmp.join("allowed_signers"),
        format!("rebuilderd:alice {}\n", ssh.public),
    )
    .unwrap();
    let attest = run(repro()
        .arg("attest")
        .arg(w.tmp.join("release"))
        .arg("--key")
        .arg(&ssh.key)
        .args(["--name", "alice", "--out"])
        .arg(w.atts()));
    assert_eq!(attest.code, 0, "{}", attest.stderr);
    let both = run(w
        .cmd(true)
        .arg("--allowed-signers")
        .arg(w.tmp.join("allowed_signers")));
    assert_eq!(both.code, 1, "{}{}", both.stdout, both.stderr);
    let report: VerifyReport = serde_json::from_str(&both.stdout).unwrap();
    assert!(!report.passed);
    assert!(
        report
            .artifacts
            .iter()
            .all(|a| a.agreed == ["rebuilderd:alice"] && !a.passed),
        "{report:#?}"
    );
}

#[test]
fn check_release_judges_one_binary_for_a_device() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    w.confirm_all(&w.bob, "bob");
    // A device has only its own binary.
    fs::remove_file(w.tmp.join("release").join(ARM).join("camhub-ip")).unwrap();
    fs::remove_file(w.tmp.join("release").join(X86).join("camhub-server")).unwrap();
    let trust =
        repro::rebuilderd::trust::TrustConfig::load(&w.tmp.join("rebuilders.toml")).unwrap();
    let report = repro::rebuilderd::confirm::check_release(
        &w.tmp.join("release"),
        &w.atts(),
        &trust,
        Some((X86, "camhub-ip")),
    )
    .unwrap();
    assert_eq!(report.artifacts.len(), 1);
    let a = &report.artifacts[0];
    assert_eq!(a.name, "x86_64-unknown-linux-gnu/camhub-ip");
    assert_eq!(a.agreed, ["alice", "bob"]);
    assert!(a.passed);
    assert_eq!(report.links.len(), 6);
    let judged: Vec<_> = report
        .links
        .iter()
        .filter(|l| l.status == AttestationStatus::Counted)
        .collect();
    assert_eq!(judged.len(), 2);
    // The device's binary replaced: nobody confirms it any more.
    fs::write(w.tmp.join("release").join(X86).join("camhub-ip"), b"evil").unwrap();
    let tampered = repro::rebuilderd::confirm::check_release(
        &w.tmp.join("release"),
        &w.atts(),
        &trust,
        Some((X86, "camhub-ip")),
    )
    .unwrap();
    assert!(!tampered.artifacts[0].passed);
    assert!(tampered.artifacts[0].agreed.is_empty());
    assert_eq!(tampered.artifacts[0].disagreed.len(), 2);
}

#[test]
fn more_files_than_the_bound_is_unusable_input() {
    let w = World::new();
    w.confirm_all(&w.alice, "alice");
    let flood = w.atts().join("rebuilderd/eve/flood");
    fs::create_dir_all(&flood).unwrap();
    for i in 0..repro::rebuilderd::stored::MAX_FILES {
        fs::write(flood.join(format!("{i}.link")), b"").unwrap();
    }
    let r = run_within(&mut w.cmd(true), 60);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("rebuilderd: more than 10000 entries"),
        "{}",
        r.stderr
    );
}
