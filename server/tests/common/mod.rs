//! Starting the real server binary on 127.0.0.1 and talking to it, with
//! read timeouts everywhere so a hung server fails a test instead of hanging it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const CAMERA: &str = "porch-upload-token-0123456789abcdef";
pub const GARAGE: &str = "garage-upload-token-0123456789abcdef";
pub const CLIENT: &str = "phone-viewing-token-0123456789abcdef";
pub const OTHER_CLIENT: &str = "laptop-viewing-token-0123456789abcdef";
/// Long enough for any answer this server owes; a hang fails the test.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub url: String,
    pub dir: PathBuf,
    stdout: Option<BufReader<ChildStdout>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Stops the server and returns what it logged on stdout after its first line.
    pub fn stop_and_log(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = String::new();
        let mut bytes = Vec::new();
        self.stdout.take().unwrap().read_to_end(&mut bytes).unwrap();
        log.push_str(&String::from_utf8_lossy(&bytes));
        log
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// The usual config: camera `porch`, and two clients, each viewing `porch`.
pub fn config(max_upload: u64) -> serde_json::Value {
    serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": "data",
        "max_upload_bytes": max_upload,
        "cameras": { "porch": CAMERA },
        "clients": { "phone": CLIENT, "laptop": OTHER_CLIENT }
    })
}

/// Writes `text` as `dir/server.json`, private as `camhub-config new` writes it.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("server.json");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

pub fn start(dir: &Path, max_upload: u64) -> Server {
    start_with(dir, &config(max_upload), &[])
}

pub fn start_with(dir: &Path, config: &serde_json::Value, args: &[&str]) -> Server {
    write_config(dir, &config.to_string());
    launch(dir, args)
}

/// Starts the server on the config already in `dir`.
pub fn launch(dir: &Path, args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--config")
        .arg(dir.join("server.json"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("announces its address, not {first:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let addr = url.strip_prefix("http://").unwrap().parse().unwrap();
    Server {
        child,
        addr,
        url,
        dir: dir.to_owned(),
        stdout: Some(stdout),
    }
}

/// Runs the server on a config that must be refused: it has to exit by
/// itself, so a server that starts anyway fails the test rather than hanging it.
pub fn refused(dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--config")
        .arg(dir.join("server.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the server started on a config it should refuse; it said {:?}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

pub fn connect(s: &Server) -> TcpStream {
    let stream = TcpStream::connect(s.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads a whole response (the server closes every connection after one).
/// Panics if the server neither answers nor closes in time.
pub fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut bytes = Vec::new();
    if let Err(e) = stream.read_to_end(&mut bytes) {
        // A reset after the reply arrived is fine; the reply is what counts.
        assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "no answer in {PATIENCE:?}; got {:?} so far",
            String::from_utf8_lossy(&bytes)
        );
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // 0: no HTTP response at all (the caller's assertion shows what came).
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Sends raw bytes, closes the sending side if `half_close`, returns the response.
pub fn raw(s: &Server, request: &[u8], half_close: bool) -> (u16, String) {
    let mut stream = connect(s);
    stream.write_all(request).unwrap();
    if half_close {
        stream.shutdown(Shutdown::Write).unwrap();
    }
    read_response(&mut stream)
}

pub fn agent() -> ureq::Agent {
    // Statuses are what these tests check, so they are not errors here.
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PATIENCE))
        .build()
        .into()
}

pub fn post(s: &Server, path: &str, token: &str, body: &[u8]) -> u16 {
    agent()
        .post(format!("{}{path}", s.url))
        .header("Authorization", &format!("Bearer {token}"))
        .send(body)
        .unwrap()
        .status()
        .as_u16()
}

pub fn get(s: &Server, path: &str, token: &str) -> (u16, Vec<u8>) {
    let mut response = agent()
        .get(format!("{}{path}", s.url))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    (
        response.status().as_u16(),
        response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap(),
    )
}

/// The files in `dir`, sorted, hidden ones included.
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Waits (boundedly) until `check` holds; false if it never did.
pub fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
