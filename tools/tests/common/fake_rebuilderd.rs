//! A fake rebuilderd instance for the operator commands' tests: a tiny
//! HTTP/1.0 server on 127.0.0.1 whose answers each test decides (honest,
//! slow, oversized, garbage, 5xx), and a release folder to ask it about.
//! Included with `#[path = "common/fake_rebuilderd.rs"] mod fake_rebuilderd;`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::common::*;

pub const REV: &str = "0123456789abcdef0123456789abcdef01234567";
pub const VERSION: &str = "0.2.0";
pub const RELEASE: &str = "ipcamera-camerahub";
pub const SOURCE: &str = "camhub-ipcamera-camerahub";
pub const BIN: &str = "camhub-ip";

/// A release folder: manifest.json with version and source_rev, and a
/// small file per triple as its binary.
pub fn release_dir(dir: &Path) -> PathBuf {
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

pub fn binary_sha(release: &Path, triple: &str) -> String {
    sha256_hex(&fs::read(release.join(triple).join(BIN)).unwrap())
}

pub fn input_sha(release: &Path, triple: &str) -> String {
    let manifest = fs::read(release.join("manifest.json")).unwrap();
    sha256_hex(&repro::rebuilderd::input::render(&manifest, triple).unwrap())
}

/// A link shaped like rebuilderd's (signatures are verify's business, not collect's).
pub fn link(product_sha: &str, triple: &str, material_sha: &str) -> String {
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

pub fn record(triple: &str, status: Option<&str>, build: i64, artifact: i64) -> serde_json::Value {
    json!({
        "id": artifact, "name": BIN, "version": VERSION, "distribution": "camhub",
        "release": RELEASE, "component": "main", "architecture": triple,
        "url": "http://x/y", "status": status, "build_id": build, "artifact_id": artifact,
        "diffoscope_log_id": null, "attestation_log_id": null,
        "last_seen": "2026-01-01T00:00:00", "seen_in_last_sync": true
    })
}

pub fn page(records: Vec<serde_json::Value>) -> String {
    json!({"total": records.len(), "records": records}).to_string()
}

/// What the fake server answers.
pub enum Reply {
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
pub struct FakeInstance {
    pub url: String,
    stop: Arc<AtomicBool>,
    /// Connections accepted (each request is one: the server closes them).
    pub hits: Arc<AtomicUsize>,
}

impl FakeInstance {
    pub fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> FakeInstance {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (stop2, hits2) = (stop.clone(), hits.clone());
        let handler: Box<Handler> = Box::new(handler);
        std::thread::spawn(move || {
            let mut seen: HashMap<String, usize> = Default::default();
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

pub fn serve(
    stream: TcpStream,
    handler: &Handler,
    seen: &mut HashMap<String, usize>,
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
pub fn honest(release: &Path) -> impl Fn(&str, usize) -> Reply + Send + Sync + 'static {
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

/// Serves a folder's files over HTTP/1.0 for the worker's downloads.
pub struct FileServer {
    pub url: String,
    _server: FakeInstance,
}

impl FileServer {
    pub fn start(root: PathBuf) -> FileServer {
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
