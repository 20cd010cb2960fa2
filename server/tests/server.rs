//! The server binary on 127.0.0.1 with a real HTTP client.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const CAMERA: &str = "cam-token";
const CLIENT: &str = "viewer-token";

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, max_upload: u64) -> Server {
    let config = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": "data",
        "max_upload_bytes": max_upload,
        "cameras": { "porch": CAMERA },
        "clients": { "phone": CLIENT, "laptop": "other-viewer" }
    });
    std::fs::write(dir.join("server.json"), config.to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--config")
        .arg(dir.join("server.json"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("announces its address")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    Server { child, url }
}

fn agent() -> ureq::Agent {
    // Statuses are what these tests check, so they are not errors here.
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(s: &Server, path: &str, token: &str, body: &[u8]) -> u16 {
    agent()
        .post(format!("{}{path}", s.url))
        .header("Authorization", &format!("Bearer {token}"))
        .send(body)
        .unwrap()
        .status()
        .as_u16()
}

fn get(s: &Server, path: &str, token: &str) -> (u16, Vec<u8>) {
    let mut response = agent()
        .get(format!("{}{path}", s.url))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_vec().unwrap(),
    )
}

#[test]
fn cameras_upload_and_clients_list_and_download() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 1024);
    assert_eq!(
        post(&s, "/clips/porch/clip-1.mjpeg", CAMERA, b"sealed one"),
        201
    );
    assert_eq!(
        post(&s, "/clips/porch/clip-2.mjpeg", CAMERA, b"sealed two!"),
        201
    );
    let (status, body) = get(&s, "/clips/porch", CLIENT);
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        listed,
        serde_json::json!([{"name": "clip-1.mjpeg", "size": 10}, {"name": "clip-2.mjpeg", "size": 11}])
    );
    assert_eq!(
        get(&s, "/clips/porch/clip-2.mjpeg", "other-viewer"),
        (200, b"sealed two!".to_vec())
    );
    assert_eq!(
        std::fs::read(dir.path().join("data/porch/clip-1.mjpeg")).unwrap(),
        b"sealed one"
    );
    // A clip is never replaced.
    assert_eq!(post(&s, "/clips/porch/clip-1.mjpeg", CAMERA, b"other"), 409);
    assert_eq!(
        std::fs::read(dir.path().join("data/porch/clip-1.mjpeg")).unwrap(),
        b"sealed one"
    );
    assert_eq!(get(&s, "/clips/porch/nope", CLIENT).0, 404);
    assert_eq!(get(&s, "/health", "").0, 200);
}

#[test]
fn tokens_are_checked_per_role_and_per_camera() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 1024);
    assert_eq!(post(&s, "/clips/porch/a", "wrong", b"x"), 401);
    assert_eq!(post(&s, "/clips/porch/a", CLIENT, b"x"), 401);
    assert_eq!(post(&s, "/clips/garage/a", CAMERA, b"x"), 401);
    assert_eq!(get(&s, "/clips/porch", CAMERA).0, 401);
    assert_eq!(get(&s, "/clips/porch", "").0, 401);
    assert!(!dir.path().join("data/porch").exists());
}

#[test]
fn oversized_and_badly_named_uploads_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 16);
    assert_eq!(post(&s, "/clips/porch/big", CAMERA, &[0u8; 17]), 413);
    assert_eq!(post(&s, "/clips/porch/ok", CAMERA, &[0u8; 16]), 201);
    assert_eq!(post(&s, "/clips/porch/.hidden", CAMERA, b"x"), 400);
    assert_eq!(post(&s, "/clips/porch/..", CAMERA, b"x"), 400);
    assert_eq!(post(&s, "/clips/porch/a%2F..%2F..%2Fx", CAMERA, b"x"), 400);
    let names: Vec<_> = std::fs::read_dir(dir.path().join("data/porch"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["ok"]);
}

#[test]
fn a_bad_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("server.json"),
        r#"{"data_dir":"d","cameras":{}}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--config")
        .arg(dir.path().join("server.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("server.json: not a valid config file: missing field `clients`"),
        "{stderr}"
    );
}
