//! `repro rebuilderd key` and `status` against fake instances
//! (common/fake_rebuilderd.rs).

mod common;
#[path = "common/fake_rebuilderd.rs"]
mod fake_rebuilderd;

use common::*;
use fake_rebuilderd::*;
use repro::cli::rebuilderd::key::KeyReport;
use repro::cli::rebuilderd::status::StatusReport;
use repro::rebuilderd::status::State;
use serde_json::json;

/// A PEM as rebuilderd 0.28 serves it: SPKI with an explicit NULL, CRLF.
fn daemon_pem(key: &[u8; 32]) -> String {
    use base64::Engine;
    let mut der = vec![
        0x30, 0x2c, 0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00, 0x03, 0x21, 0x00,
    ];
    der.extend_from_slice(key);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\r\n{b64}\r\n-----END PUBLIC KEY-----\r\n")
}

#[test]
fn key_prints_the_pinned_form() {
    let key = [0xabu8; 32];
    let pem = daemon_pem(&key);
    let server =
        FakeInstance::start(move |_, _| Reply::Ok(json!({"current": [pem.clone()]}).to_string()));
    let r = run(repro().args(["rebuilderd", "key", &server.url]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("ed25519:{}\n", "ab".repeat(32)));
    let r = run(repro().args(["rebuilderd", "key", "--json", &format!("{}/", server.url)]));
    let report: KeyReport = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report.url, server.url);
    assert_eq!(report.keys, [format!("ed25519:{}", "ab".repeat(32))]);

    // An RSA key (or anything but the two ed25519 layouts) is refused.
    let rsa = "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END PUBLIC KEY-----\n";
    let server = FakeInstance::start(move |_, _| Reply::Ok(json!({"current": [rsa]}).to_string()));
    let r = run(repro().args(["rebuilderd", "key", &server.url]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("key 1 of 1"), "{}", r.stderr);
    assert!(r.stderr.contains("only ed25519"), "{}", r.stderr);
}

#[test]
fn status_shows_each_instance_side_by_side() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let good = FakeInstance::start(honest(&release));
    let busy = FakeInstance::start(|path, _| {
        if path.starts_with("/api/v1/queue") {
            let job = |triple: &str, started: Option<&str>| {
                json!({"id": 1, "name": SOURCE, "version": VERSION, "distribution": "camhub",
                       "release": RELEASE, "architecture": triple, "backend": "camhub",
                       "url": "http://x", "next_retry": null, "priority": 1,
                       "queued_at": "2026-01-01T00:00:00", "started_at": started})
            };
            Reply::Ok(page(vec![
                job(X86, Some("2026-01-01T00:00:01")),
                job(ARM, None),
            ]))
        } else {
            Reply::Ok(page(vec![]))
        }
    });
    let mut cmd = repro();
    cmd.args(["rebuilderd", "status"])
        .arg(&release)
        .arg("--instance")
        .arg(format!("alice={}", good.url))
        .arg("--instance")
        .arg(format!("bob={}", busy.url));
    let r = run_within(&mut cmd, 60);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["RELEASE", "VERSION", "ARTIFACT", "alice", "bob"]
    );
    let row = |triple: &str| {
        lines
            .iter()
            .find(|l| l.contains(triple))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row(X86)[3..], ["GOOD", "BUILDING"]);
    assert_eq!(row(ARM)[3..], ["GOOD", "QUEUED"]);
    // Columns line up: every row's bob column starts at the same place.
    let at = lines[0].find("bob").unwrap();
    assert!(
        lines[1..].iter().all(|l| l[at..].starts_with(['B', 'Q'])),
        "{}",
        r.stdout
    );

    let r = run_within(cmd.arg("--json"), 60);
    let report: StatusReport = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report.instances, ["alice", "bob"]);
    assert!(!report.all_good);
    let states: Vec<(String, Vec<State>)> = report.releases[0]
        .artifacts
        .iter()
        .map(|a| {
            (
                a.triple.clone(),
                a.instances.iter().map(|c| c.state).collect(),
            )
        })
        .collect();
    assert!(states.contains(&(X86.into(), vec![State::Good, State::Building])));
    assert!(states.contains(&(ARM.into(), vec![State::Good, State::Queued])));
}

/// A build that failed (the release's files not served yet, a broken
/// worker) leaves the job queued for hours: status says so, and how to
/// retry now, instead of a bare QUEUED.
#[test]
fn status_names_a_failed_build_waiting_for_its_retry() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let failed = FakeInstance::start(|path, _| {
        if path.starts_with("/api/v1/queue") {
            let job = |triple: &str, retry: Option<&str>| {
                json!({"id": 1, "name": SOURCE, "version": VERSION, "distribution": "camhub",
                       "release": RELEASE, "architecture": triple, "backend": "camhub",
                       "url": "http://x", "next_retry": retry, "priority": 2,
                       "queued_at": "2026-01-01T00:00:00", "started_at": null})
            };
            Reply::Ok(page(vec![
                job(X86, Some("2026-01-03T00:00:00.5")),
                job(ARM, None),
            ]))
        } else if path.contains(&format!("architecture={X86}")) {
            Reply::Ok(page(vec![record(X86, None, 4, 1)]))
        } else {
            Reply::Ok(page(vec![]))
        }
    });
    let mut cmd = repro();
    cmd.args(["rebuilderd", "status"])
        .arg(&release)
        .arg("--instance")
        .arg(format!("bob={}", failed.url));
    let r = run_within(&mut cmd, 60);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(
        lines[1..3].iter().all(|l| l.ends_with("QUEUED")),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines[3],
        format!(
            "bob: {X86}/{BIN}: build 4 failed (its log: rebuildctl pkgs log); queued again, not before 2026-01-03T00:00:00.5 UTC; `rebuildctl queue push` retries now"
        )
    );
    let r = run_within(cmd.arg("--json"), 60);
    let report: StatusReport = serde_json::from_str(&r.stdout).unwrap();
    let cell = |triple: &str| {
        report.releases[0]
            .artifacts
            .iter()
            .find(|a| a.triple == triple)
            .unwrap()
            .instances[0]
            .clone()
    };
    assert_eq!(cell(X86).state, State::Queued);
    assert!(cell(X86).detail.unwrap().contains("build 4 failed"));
    // Queued and never tried: nothing to say.
    assert_eq!((cell(ARM).state, cell(ARM).detail), (State::Queued, None));
}

#[test]
fn status_of_an_unknown_and_an_unreachable_instance() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let empty = FakeInstance::start(|_, _| Reply::Ok(page(vec![])));
    let r = run_within(
        repro()
            .args(["rebuilderd", "status", "--retries", "0", "--json"])
            .arg(&release)
            .arg("--instance")
            .arg(format!("carol={}", empty.url))
            .arg("--instance")
            .arg("dave=http://127.0.0.1:9"),
        60,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let report: StatusReport = serde_json::from_str(&r.stdout).unwrap();
    for a in &report.releases[0].artifacts {
        assert_eq!(a.instances[0].state, State::Unknown);
        assert_eq!(a.instances[1].state, State::Unreachable);
    }
}

#[test]
fn status_colours_only_when_asked_and_never_with_no_color() {
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let good = FakeInstance::start(honest(&release));
    let status = |color: &str, no_color: bool| {
        let mut cmd = repro();
        cmd.args(["rebuilderd", "status", "--color", color])
            .arg(&release)
            .arg("--instance")
            .arg(format!("alice={}", good.url));
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    assert!(status("always", false).contains("\x1b[32mGOOD"));
    assert!(!status("always", true).contains('\x1b'));
    // Not a terminal: auto means none.
    assert!(!status("auto", false).contains('\x1b'));
}
