//! `repro rebuilderd key`, `collect` and `status` against (a) a tiny HTTP
//! server written here that plays a rebuilderd instance, honest or hostile,
//! and (b) a real rebuilderd 0.28 (tests/rebuilderd_instance.rs; skipped
//! unless one is available).

mod common;
#[path = "../../tests/rebuilderd_instance.rs"]
mod rebuilderd_instance;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use repro::cli::rebuilderd::collect::CollectReport;
use repro::cli::rebuilderd::key::KeyReport;
use repro::cli::rebuilderd::status::StatusReport;
use repro::rebuilderd::collect::{BadVerdict, Outcome};
use repro::rebuilderd::status::State;
use serde_json::json;

const REV: &str = "0123456789abcdef0123456789abcdef01234567";
const VERSION: &str = "0.2.0";
const RELEASE: &str = "ipcamera-camerahub";
const SOURCE: &str = "camhub-ipcamera-camerahub";
const BIN: &str = "camhub-ip";

/// A release folder: manifest.json with version and source_rev, and a
/// small file per triple as its binary.
fn release_dir(dir: &Path) -> PathBuf {
    let release = dir.join("release");
    let mut artifacts = Vec::new();
    for triple in [X86, ARM] {
        let content = format!("camhub-ip for {triple}\n");
        fs::create_dir_all(release.join(triple)).unwrap();
        fs::write(release.join(triple).join(BIN), &content).unwrap();
        artifacts.push(json!({
            "package": "ip_camera_hub", "target": triple, "bin": BIN,
            "bin_path": format!("{triple}/{BIN}"), "sha256": sha256_hex(content.as_bytes()),
            "crate": "camera_hub", "version": "0.1.0", "crate_lock_sha256": LOCK,
            "rust_digest": DIGEST,
        }));
    }
    let manifest = json!({
        "build": {"target": "ipcamera", "profile": "camerahub", "run_id": "7",
                  "timestamp": "2026-01-02T03:04:05Z", "version": VERSION, "source_rev": REV},
        "artifacts": artifacts,
    });
    let mut text = serde_json::to_string_pretty(&manifest).unwrap();
    text.push('\n');
    fs::write(release.join("manifest.json"), text).unwrap();
    release
}

fn binary_sha(release: &Path, triple: &str) -> String {
    sha256_hex(&fs::read(release.join(triple).join(BIN)).unwrap())
}

fn input_sha(release: &Path, triple: &str) -> String {
    let manifest = fs::read(release.join("manifest.json")).unwrap();
    sha256_hex(&repro::rebuilderd::input::render(&manifest, triple).unwrap())
}

/// A link shaped like rebuilderd's (signatures are verify's business, not collect's).
fn link(product_sha: &str, triple: &str, material_sha: &str) -> String {
    json!({
        "signatures": [{"keyid": "00", "sig": "00"}],
        "signed": {
            "_type": "link", "name": format!("rebuild {BIN}"),
            "materials": {format!("{triple}.json"): {"sha256": material_sha, "sha512": "00"}},
            "products": {BIN: {"sha256": product_sha, "sha512": "00"}},
            "environment": null, "byproducts": {}, "command": []
        }
    })
    .to_string()
}

fn record(triple: &str, status: Option<&str>, build: i64, artifact: i64) -> serde_json::Value {
    json!({
        "id": artifact, "name": BIN, "version": VERSION, "distribution": "camhub",
        "release": RELEASE, "component": "main", "architecture": triple,
        "url": "http://x/y", "status": status, "build_id": build, "artifact_id": artifact,
        "diffoscope_log_id": null, "attestation_log_id": null,
        "last_seen": "2026-01-01T00:00:00", "seen_in_last_sync": true
    })
}

fn page(records: Vec<serde_json::Value>) -> String {
    json!({"total": records.len(), "records": records}).to_string()
}

/// What the fake server answers.
enum Reply {
    Ok(String),
    Bytes(Vec<u8>),
    Status(u16),
    /// Headers, then the body one byte every `gap`.
    Slow(Vec<u8>, Duration),
    /// A body of this many bytes and no Content-Length.
    Endless(usize),
}

type Handler = dyn Fn(&str, usize) -> Reply + Send + Sync;

/// A one-thread HTTP/1.0 server on 127.0.0.1: `handler(path_and_query,
/// nth request to that path)` decides each answer.
struct FakeInstance {
    url: String,
    stop: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
}

impl FakeInstance {
    fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> FakeInstance {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (stop2, hits2) = (stop.clone(), hits.clone());
        let handler: Box<Handler> = Box::new(handler);
        std::thread::spawn(move || {
            let mut seen: std::collections::HashMap<String, usize> = Default::default();
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                hits2.fetch_add(1, Ordering::SeqCst);
                let _ = serve(stream, &*handler, &mut seen);
            }
        });
        FakeInstance { url, stop, hits }
    }
}

impl Drop for FakeInstance {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn serve(
    stream: TcpStream,
    handler: &Handler,
    seen: &mut std::collections::HashMap<String, usize>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let key = path.split('?').next().unwrap().to_owned();
    let n = seen.entry(key).or_default();
    *n += 1;
    let mut out = stream;
    match handler(&path, *n) {
        Reply::Ok(body) => write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        Reply::Bytes(body) => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            out.write_all(&body)
        }
        Reply::Status(code) => write!(
            out,
            "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Reply::Slow(body, gap) => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            for b in body {
                out.write_all(&[b])?;
                out.flush()?;
                std::thread::sleep(gap);
            }
            Ok(())
        }
        Reply::Endless(len) => {
            write!(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
            let chunk = vec![b' '; 64 << 10];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len());
                out.write_all(&chunk[..n])?;
                left -= n;
            }
            Ok(())
        }
    }
}

/// An honest instance for `release`: GOOD on both triples, right links.
fn honest(release: &Path) -> impl Fn(&str, usize) -> Reply + Send + Sync + 'static {
    let links: Vec<(String, String)> = [X86, ARM]
        .iter()
        .map(|t| {
            (
                t.to_string(),
                link(&binary_sha(release, t), t, &input_sha(release, t)),
            )
        })
        .collect();
    move |path, _| {
        for (i, (triple, link)) in links.iter().enumerate() {
            let id = i as i64 + 1;
            if path.starts_with("/api/v1/packages/binary") && path.contains(triple.as_str()) {
                return Reply::Ok(page(vec![record(triple, Some("GOOD"), id, id)]));
            }
            if path == format!("/api/v1/builds/{id}/artifacts/{id}/attestation") {
                return Reply::Ok(link.clone());
            }
        }
        if path.starts_with("/api/v1/queue") {
            return Reply::Ok(page(vec![]));
        }
        Reply::Status(404)
    }
}

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

/// (b) The real rebuilderd: daemon + worker with a stand-in backend that
/// copies the release's binary into $REBUILDERD_OUTDIR, then key, collect
/// and status against it.
#[test]
fn against_a_real_rebuilderd() {
    let Some(bins) = rebuilderd_instance::available() else {
        return;
    };
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let inputs = release.join("rebuilderd");
    fs::create_dir_all(&inputs).unwrap();
    let manifest = fs::read(release.join("manifest.json")).unwrap();
    for triple in [X86, ARM] {
        fs::write(
            inputs.join(format!("{triple}.json")),
            repro::rebuilderd::input::render(&manifest, triple).unwrap(),
        )
        .unwrap();
    }
    // The stand-in "rebuild": the triple from the input's name, the release's binary copied.
    let backend = tmp.join("backend.sh");
    fs::write(
        &backend,
        format!(
            "#!/bin/sh\nset -e\ntriple=$(basename \"$1\" .json)\ncp \"{}/$triple/{BIN}\" \"$REBUILDERD_OUTDIR/{BIN}\"\n",
            release.display()
        ),
    )
    .unwrap();
    fs::set_permissions(
        &backend,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let files = FileServer::start(tmp.clone());
    let mut options = rebuilderd_instance::Options::new(&[X86, ARM], &backend);
    options.ports = Some(18480..=18489);
    let inst = rebuilderd_instance::Instance::start(&bins, options);
    let base = format!("{}/release", files.url);
    for triple in [X86, ARM] {
        let report = json!({
            "distribution": "camhub", "release": RELEASE, "architecture": triple,
            "packages": [{
                "name": SOURCE, "version": VERSION,
                "url": format!("{base}/rebuilderd/{triple}.json"),
                "artifacts": [{"name": BIN, "version": VERSION, "component": "main",
                               "architecture": triple, "url": format!("{base}/{triple}/{BIN}")}]
            }]
        });
        inst.sync(&report.to_string());
    }
    for triple in [X86, ARM] {
        let verdict = inst.wait_for_verdict(BIN, VERSION, triple, Duration::from_secs(120));
        assert_eq!(verdict, "GOOD", "{}", inst.logs());
    }
    eprintln!("rebuilderd memory after two rebuilds: {:?}", inst.memory());

    let r = run_within(repro().args(["rebuilderd", "key", &inst.url]), 60);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key = r.stdout.trim().to_owned();
    assert!(repro::rebuilderd::trust::parse_key(&key).is_some(), "{key}");

    let rebuilders = tmp.join("rebuilders.toml");
    fs::write(
        &rebuilders,
        format!(
            "k = 1\n[[rebuilder]]\nname = \"alice\"\nkey = \"{key}\"\nurl = \"{}\"\n",
            inst.url
        ),
    )
    .unwrap();
    let r = run_within(
        repro()
            .args(["rebuilderd", "collect", "--json", "--rebuilders"])
            .arg(&rebuilders)
            .arg(&release),
        60,
    );
    assert_eq!(r.code, 0, "{}{}\n{}", r.stdout, r.stderr, inst.logs());
    let report: CollectReport = serde_json::from_str(&r.stdout).unwrap();
    assert!(report.complete);
    for triple in [X86, ARM] {
        let text = fs::read(stored(&release, triple, ".link")).unwrap();
        let link: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            link["signed"]["products"][BIN]["sha256"],
            json!(binary_sha(&release, triple))
        );
        assert_eq!(
            link["signed"]["materials"][format!("{triple}.json")]["sha256"],
            json!(input_sha(&release, triple))
        );
        // The worker's signature and the daemon's countersignature.
        assert_eq!(link["signatures"].as_array().unwrap().len(), 2, "{link}");
    }
    eprintln!("rebuilderd memory after collect: {:?}", inst.memory());

    let r = run_within(
        repro()
            .args(["rebuilderd", "status", "--rebuilders"])
            .arg(&rebuilders)
            .arg(&release),
        60,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for triple in [X86, ARM] {
        let line = r.stdout.lines().find(|l| l.contains(triple)).unwrap();
        assert!(line.ends_with("GOOD"), "{line}");
    }
}

/// Serves a folder's files over HTTP/1.0 for the worker's downloads.
struct FileServer {
    url: String,
    _server: FakeInstance,
}

impl FileServer {
    fn start(root: PathBuf) -> FileServer {
        let server = FakeInstance::start(move |path, _| {
            let rel = path.trim_start_matches('/');
            if rel.split('/').any(|p| p == ".." || p.is_empty()) {
                return Reply::Status(404);
            }
            match fs::read(root.join(rel)) {
                Ok(bytes) => Reply::Bytes(bytes),
                Err(_) => Reply::Status(404),
            }
        });
        FileServer {
            url: server.url.clone(),
            _server: server,
        }
    }
}

/// The harness's worker controls, as the end-to-end test needs them: a
/// worker killed mid-build takes its backend with it, the job it held is
/// freed by drop + push, and a restarted worker (same key) finishes it.
#[test]
fn a_job_held_by_a_killed_worker_is_freed_and_finished() {
    let Some(bins) = rebuilderd_instance::available() else {
        return;
    };
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    let inputs = release.join("rebuilderd");
    fs::create_dir_all(&inputs).unwrap();
    let manifest = fs::read(release.join("manifest.json")).unwrap();
    fs::write(
        inputs.join(format!("{X86}.json")),
        repro::rebuilderd::input::render(&manifest, X86).unwrap(),
    )
    .unwrap();
    let stall = tmp.join("stall");
    let pidfile = tmp.join("backend.pid");
    fs::write(&stall, "").unwrap();
    // While `stall` exists the backend records its pid and hangs, like a long build.
    let backend = tmp.join("backend.sh");
    fs::write(
        &backend,
        format!(
            "#!/bin/sh\nset -e\nif [ -e \"$STALL\" ]; then echo $$ > \"$PIDFILE\"; exec sleep 600; fi\ncp \"{}/{X86}/{BIN}\" \"$REBUILDERD_OUTDIR/{BIN}\"\n",
            release.display()
        ),
    )
    .unwrap();
    fs::set_permissions(
        &backend,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let files = FileServer::start(tmp.clone());
    let mut options = rebuilderd_instance::Options::new(&[X86], &backend);
    options.ports = Some(18480..=18489);
    options.env = vec![
        ("STALL".into(), stall.display().to_string()),
        ("PIDFILE".into(), pidfile.display().to_string()),
    ];
    let mut inst = rebuilderd_instance::Instance::start(&bins, options);
    let base = format!("{}/release", files.url);
    inst.sync(
        &json!({
            "distribution": "camhub", "release": RELEASE, "architecture": X86,
            "packages": [{
                "name": SOURCE, "version": VERSION,
                "url": format!("{base}/rebuilderd/{X86}.json"),
                "artifacts": [{"name": BIN, "version": VERSION, "component": "main",
                               "architecture": X86, "url": format!("{base}/{X86}/{BIN}")}]
            }]
        })
        .to_string(),
    );
    let pid: u32 = inst.wait_until("the backend to start", Duration::from_secs(60), |_| {
        fs::read_to_string(&pidfile).ok()?.trim().parse().ok()
    });
    let jobs = inst.queue_ls();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(jobs[0]["started_at"].is_string(), "{jobs:?}");

    inst.kill_worker();
    let alive = |pid: u32| {
        fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        })
    };
    inst.wait_until(
        "the backend to die with its worker",
        Duration::from_secs(10),
        |_| (!alive(pid)).then_some(()),
    );
    fs::remove_file(&stall).unwrap();
    inst.requeue(SOURCE, VERSION, X86);
    inst.start_worker();
    let verdict = inst.wait_for_verdict(BIN, VERSION, X86, Duration::from_secs(60));
    assert_eq!(verdict, "GOOD", "{}", inst.logs());
    assert!(inst.queue_ls().is_empty());
    eprintln!("rebuilderd memory: {:?}", inst.memory());
}
