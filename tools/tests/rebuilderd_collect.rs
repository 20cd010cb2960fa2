//! `repro rebuilderd collect` against a fake instance (common/fake_rebuilderd.rs),
//! honest and hostile: every way an instance's answer can be wrong is
//! reported and nothing it did not earn is stored.

mod common;
#[path = "common/fake_rebuilderd.rs"]
mod fake_rebuilderd;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use fake_rebuilderd::*;
use repro::cli::rebuilderd::collect::CollectReport;
use repro::rebuilderd::collect::{BadVerdict, Outcome};
use serde_json::json;

fn collect(release: &Path, url: &str, extra: &[&str]) -> Run {
    let mut cmd = repro();
    cmd.args(["rebuilderd", "collect"])
        .arg(release)
        .arg("--instance")
        .arg(format!("alice={url}"))
        .args(["--timeout", "2"])
        .args(extra);
    if !extra.contains(&"--retries") {
        cmd.args(["--retries", "2"]);
    }
    run_within(&mut cmd, 60)
}

fn collect_json(release: &Path, url: &str) -> (Run, CollectReport) {
    let r = collect(release, url, &["--json"]);
    let report: CollectReport =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    (r, report)
}

fn stored(release: &Path, triple: &str, suffix: &str) -> PathBuf {
    release
        .join("attestations/rebuilderd/alice")
        .join(triple)
        .join(format!("{BIN}{suffix}"))
}

#[test]
fn good_links_are_stored_byte_for_byte() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let server = FakeInstance::start(honest(&release));
    let r = collect(&release, &server.url, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for triple in [X86, ARM] {
        let expected = link(
            &binary_sha(&release, triple),
            triple,
            &input_sha(&release, triple),
        );
        assert_eq!(
            fs::read_to_string(stored(&release, triple, ".link")).unwrap(),
            expected
        );
        assert!(
            r.stdout.lines().any(|l| l.starts_with("COLLECTED")
                && l.contains(&format!("{triple}/{BIN}"))
                && l.contains("alice")),
            "{}",
            r.stdout
        );
    }
    assert!(
        r.stdout
            .contains("ipcamera-camerahub 0.2.0: collected 2 of 2 verdicts\n"),
        "{}",
        r.stdout
    );
    let (r, report) = collect_json(&release, &server.url);
    assert_eq!(r.code, 0);
    assert!(report.complete);
    assert_eq!(report.release, RELEASE);
    assert_eq!(report.version, VERSION);
    assert_eq!(report.results.len(), 2);
    assert!(
        report
            .results
            .iter()
            .all(|c| c.outcome == Outcome::Collected && c.verdict.as_deref() == Some("GOOD"))
    );
}

/// `bad` replaces the attestation (build 1, artifact 1: x86_64) with `reply`.
fn with_attestation(
    release: &Path,
    reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> FakeInstance {
    let honest = honest(release);
    FakeInstance::start(move |path, n| {
        if path == "/api/v1/builds/1/artifacts/1/attestation" {
            reply()
        } else {
            honest(path, n)
        }
    })
}

#[test]
fn an_oversized_link_is_refused_and_not_stored() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let server = with_attestation(&release, || Reply::Endless((1 << 20) + 1));
    let r = collect(&release, &server.url, &[]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("larger than 1024 KiB"), "{}", r.stdout);
    assert!(r.stdout.lines().any(|l| l.starts_with("ERROR")));
    assert!(!stored(&release, X86, ".link").exists());
    // The other triple is still collected.
    assert!(stored(&release, ARM, ".link").exists());
    assert!(r.stderr.contains("could not be asked"), "{}", r.stderr);
}

#[test]
fn a_slow_body_times_out() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let server = with_attestation(&release, || {
        Reply::Slow(vec![b' '; 100], Duration::from_millis(200))
    });
    let started = Instant::now();
    let r = collect(&release, &server.url, &[]);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("no complete answer within 2 s"),
        "{}",
        r.stdout
    );
    assert!(!stored(&release, X86, ".link").exists());
}

#[test]
fn garbage_json_is_an_error() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let server = FakeInstance::start(|_, _| Reply::Ok("{\"total\": 1, \"records\": [".into()));
    let (r, report) = collect_json(&release, &server.url);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(report.results.iter().all(|c| c.outcome == Outcome::Error));
    assert!(
        report.results[0].detail.contains("not a rebuilderd answer"),
        "{}",
        report.results[0].detail
    );
    assert!(!release.join("attestations").exists());
}

#[test]
fn a_link_for_other_bytes_is_reported_not_stored() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let other = sha256_hex(b"another binary");
    let input = input_sha(&release, X86);
    let server = with_attestation(&release, move || Reply::Ok(link(&other, X86, &input)));
    let r = collect(&release, &server.url, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("REJECTED"))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(line.contains(&format!("{X86}/{BIN}")), "{line}");
    assert!(line.contains("is for other bytes"), "{line}");
    assert!(line.contains(&sha256_hex(b"another binary")), "{line}");
    assert!(!stored(&release, X86, ".link").exists());
    assert!(r.stdout.contains("; rejected: alice"), "{}", r.stdout);

    // A link for this binary but another release's input is no better.
    let sha = binary_sha(&release, X86);
    let server = with_attestation(&release, move || {
        Reply::Ok(link(&sha, X86, &"0".repeat(64)))
    });
    let r = collect(&release, &server.url, &[]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("materials"), "{}", r.stdout);
    assert!(!stored(&release, X86, ".link").exists());
}

#[test]
fn a_5xx_is_retried() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let honest = honest(&release);
    let server = FakeInstance::start(move |path, n| {
        if path.starts_with("/api/v1/packages/binary") && n == 1 {
            Reply::Status(500)
        } else {
            honest(path, n)
        }
    });
    let r = collect(&release, &server.url, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(stored(&release, X86, ".link").exists());
    // 2 lists (one retried) + 1, 2 attestations.
    assert_eq!(server.hits.load(Ordering::SeqCst), 5);

    // Always 500: given up after the retries, named as unreachable.
    let server = FakeInstance::start(|_, _| Reply::Status(503));
    let r = collect(&release, &server.url, &["--retries", "1"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.contains("unreachable after 2 tries (HTTP 503)"),
        "{}",
        r.stdout
    );
    // One instance costs one round of retries, not one per artifact.
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[test]
fn an_unreachable_instance_is_named() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let r = collect(&release, &url, &["--retries", "0"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("UNREACHABLE") && l.contains(&url))
            .count()
            == 2,
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("; unreachable: alice"), "{}", r.stdout);
}

#[test]
fn a_bad_verdict_is_stored_and_replaces_an_earlier_link() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let honest = honest(&release);
    let server = FakeInstance::start(move |path, n| {
        if path.starts_with("/api/v1/packages/binary") && path.contains(ARM) {
            Reply::Ok(page(vec![record(ARM, Some("BAD"), 7, 9)]))
        } else {
            honest(path, n)
        }
    });
    // An earlier GOOD link of this instance for the same binary.
    let old = stored(&release, ARM, ".link");
    fs::create_dir_all(old.parent().unwrap()).unwrap();
    fs::write(&old, "{}").unwrap();
    let r = collect(&release, &server.url, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let bad: BadVerdict =
        serde_json::from_slice(&fs::read(stored(&release, ARM, ".bad.json")).unwrap()).unwrap();
    assert_eq!(
        bad,
        BadVerdict {
            instance: "alice".into(),
            url: server.url.clone(),
            release: RELEASE.into(),
            version: VERSION.into(),
            triple: ARM.into(),
            bin: BIN.into(),
            status: "BAD".into(),
            build_id: 7,
        }
    );
    assert!(!old.exists(), "the earlier link was removed");
    assert!(stored(&release, X86, ".link").exists());
    assert!(
        r.stdout.contains(&format!("; BAD: alice {ARM}/{BIN}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("removed attestations/rebuilderd/alice"),
        "{}",
        r.stdout
    );
}

#[test]
fn no_verdict_yet_is_pending() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let server = FakeInstance::start(|path, _| {
        if path.contains(X86) {
            Reply::Ok(page(vec![record(X86, None, 0, 0)]))
        } else {
            Reply::Ok(page(vec![]))
        }
    });
    let (r, report) = collect_json(&release, &server.url);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!report.complete);
    assert!(report.results.iter().all(|c| c.outcome == Outcome::Pending));
    let arm = report.results.iter().find(|c| c.triple == ARM).unwrap();
    assert!(arm.detail.contains("not synced"), "{}", arm.detail);
}

#[test]
fn a_record_of_another_release_is_not_taken() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    // A server that ignores the filters and answers with other releases' records.
    let server = FakeInstance::start(|path, _| {
        let mut other = record(X86, Some("GOOD"), 1, 1);
        other["release"] = json!("raspberry-all");
        let mut older = record(X86, Some("BAD"), 2, 2);
        older["version"] = json!("0.1.0");
        if path.starts_with("/api/v1/packages/binary") {
            Reply::Ok(page(vec![other, older]))
        } else {
            Reply::Status(404)
        }
    });
    let (r, report) = collect_json(&release, &server.url);
    assert_eq!(r.code, 1);
    assert!(report.results.iter().all(|c| c.outcome == Outcome::Pending));
}

#[test]
fn a_symlinked_attestations_folder_is_refused() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    fs::create_dir(tmp.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(tmp.join("elsewhere"), release.join("attestations")).unwrap();
    let server = FakeInstance::start(honest(&release));
    let r = collect(&release, &server.url, &[]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is a symlink"), "{}", r.stderr);
    assert_eq!(fs::read_dir(tmp.join("elsewhere")).unwrap().count(), 0);
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "refused before asking"
    );
}

#[test]
fn unusable_input_is_refused() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    for (args, expect) in [
        (vec!["--instance", "alice"], "NAME=URL"),
        (vec!["--instance", "../x=http://h"], "names a folder"),
        (vec!["--instance", "a=ftp://h"], "not an instance address"),
        (
            vec!["--rebuilders", "/nonexistent"],
            "no such rebuilders file",
        ),
    ] {
        let r = run(repro()
            .args(["rebuilderd", "collect"])
            .arg(&release)
            .args(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(expect), "{args:?}: {}", r.stderr);
    }
    // A manifest nobody can rebuild (no version).
    let m = release.join("manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&fs::read(&m).unwrap()).unwrap();
    manifest["build"].as_object_mut().unwrap().remove("version");
    fs::write(&m, manifest.to_string()).unwrap();
    let r = collect(&release, "http://127.0.0.1:9", &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("build.version"), "{}", r.stderr);
}

#[test]
fn instances_come_from_the_rebuilders_file_and_instance_overrides_them() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let server = FakeInstance::start(honest(&release));
    let key = |b: u8| format!("ed25519:{}", format!("{b:02x}").repeat(32));
    let file = tmp.join("rebuilders.toml");
    fs::write(
        &file,
        format!(
            "k = 1\n[[rebuilder]]\nname = \"alice\"\nkey = \"{}\"\nurl = \"http://127.0.0.1:9\"\n[[rebuilder]]\nname = \"bob\"\nkey = \"{}\"\n",
            key(1),
            key(2)
        ),
    )
    .unwrap();
    // alice's address replaced; bob has none, so he is not asked.
    let r = run_within(
        repro()
            .args(["rebuilderd", "collect", "--json", "--rebuilders"])
            .arg(&file)
            .arg(&release)
            .arg("--instance")
            .arg(format!("alice={}", server.url)),
        60,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let report: CollectReport = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        report
            .results
            .iter()
            .all(|c| c.instance == "alice" && c.url == server.url)
    );
    assert_eq!(report.results.len(), 2);
    // Only bob, who has no url: nobody to ask.
    fs::write(
        &file,
        format!(
            "k = 1\n[[rebuilder]]\nname = \"bob\"\nkey = \"{}\"\n",
            key(2)
        ),
    )
    .unwrap();
    let r = run(repro()
        .args(["rebuilderd", "collect", "--rebuilders"])
        .arg(&file)
        .arg(&release));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("no instance to ask"), "{}", r.stderr);
}

#[test]
fn two_artifacts_with_one_triple_and_bin_are_refused() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let m = release.join("manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&fs::read(&m).unwrap()).unwrap();
    let mut twin = manifest["artifacts"][0].clone();
    twin["package"] = json!("another_package");
    manifest["artifacts"].as_array_mut().unwrap().push(twin);
    fs::write(&m, manifest.to_string()).unwrap();
    let r = collect(&release, "http://127.0.0.1:9", &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains(&format!("two artifacts are `{X86}/{BIN}`")),
        "{}",
        r.stderr
    );
}
