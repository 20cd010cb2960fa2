//! What the real binary does with weak or unsafe configs, viewer scopes, a
//! failed store and uploads a kill left unfinished.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use common::{CAMERA, CLIENT, GARAGE, OTHER_CLIENT, connect, files, get, post, write_config};

#[test]
fn weak_or_unsafe_configs_are_refused_naming_the_file_and_the_fix() {
    let config = |cameras: &str, clients: &str| {
        format!(
            r#"{{"listen":"127.0.0.1:0","data_dir":"data","cameras":{cameras},"clients":{clients}}}"#
        )
    };
    let porch = format!(r#"{{"porch":"{CAMERA}"}}"#);
    let cases = [
        ("empty camera token", config(r#"{"porch":""}"#, "{}")),
        ("empty client token", config(&porch, r#"{"phone":""}"#)),
        ("short token", config(r#"{"porch":"cam-token"}"#, "{}")),
        (
            "camera token reused as a viewing token",
            config(&porch, &format!(r#"{{"phone":"{CAMERA}"}}"#)),
        ),
        (
            "duplicate key",
            config(
                &format!(r#"{{"porch":"{CAMERA}","porch":"{GARAGE}"}}"#),
                "{}",
            ),
        ),
        (
            "duplicate top-level key",
            format!(r#"{{"data_dir":"data","data_dir":"/","cameras":{porch},"clients":{{}}}}"#),
        ),
        (
            "camera name that is a path",
            config(&format!(r#"{{"../../etc":"{CAMERA}"}}"#), "{}"),
        ),
        (
            "client scoped to an unknown camera",
            config(
                &porch,
                &format!(r#"{{"phone":{{"token":"{CLIENT}","cameras":["garage"]}}}}"#),
            ),
        ),
        (
            "unscoped client with two cameras",
            config(
                &format!(r#"{{"porch":"{CAMERA}","garage":"{GARAGE}"}}"#),
                &format!(r#"{{"phone":"{CLIENT}"}}"#),
            ),
        ),
    ];
    for (what, text) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &text);
        let out = common::refused(dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains("server.json: "), "{what}: {stderr}");
        assert!(stderr.contains("fix: "), "{what}: {stderr}");
        assert!(!dir.path().join("data").exists(), "{what}");
    }
    // Other users reading or changing the file holding every token.
    for mode in [0o644, 0o604, 0o620] {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), &config(&porch, "{}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = common::refused(dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{mode:o}: {stderr}");
        assert!(
            stderr.contains(&format!("fix: chmod 600 {}", path.display())),
            "{mode:o}: {stderr}"
        );
    }
}

#[test]
fn a_config_that_is_not_json_or_lacks_a_field_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), r#"{"data_dir":"d","cameras":{}}"#);
    let out = common::refused(dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("server.json: not a valid config file: missing field `clients`"),
        "{stderr}"
    );
}

#[test]
fn a_viewing_token_sees_only_the_cameras_the_config_gives_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": "data",
        "cameras": { "porch": CAMERA, "garage": GARAGE },
        "clients": {
            "phone": { "token": CLIENT, "cameras": ["porch"] },
            "laptop": { "token": OTHER_CLIENT, "cameras": ["porch", "garage"] }
        }
    });
    let s = common::start_with(dir.path(), &config, &[]);
    assert_eq!(post(&s, "/clips/porch/p", CAMERA, b"porch clip"), 201);
    assert_eq!(post(&s, "/clips/garage/g", GARAGE, b"garage clip"), 201);
    assert_eq!(
        get(&s, "/clips/porch/p", CLIENT),
        (200, b"porch clip".to_vec())
    );
    assert_eq!(get(&s, "/clips/garage", CLIENT).0, 403);
    assert_eq!(get(&s, "/clips/garage/g", CLIENT).0, 403);
    assert_eq!(
        get(&s, "/clips/garage/g", OTHER_CLIENT),
        (200, b"garage clip".to_vec())
    );
    let (status, listed) = get(&s, "/clips/garage", OTHER_CLIENT);
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed, serde_json::json!([{"name": "g", "size": 11}]));
}

#[test]
fn a_failed_store_answers_500_without_the_servers_paths() {
    let dir = tempfile::tempdir().unwrap();
    let s = common::start(dir.path(), 1024);
    // A camera folder no one can create files in, not even root.
    std::os::unix::fs::symlink("/proc/self", dir.path().join("data/porch")).unwrap();
    let mut response = common::agent()
        .post(format!("{}/clips/porch/clip", s.url))
        .header("Authorization", &format!("Bearer {CAMERA}"))
        .send(&b"sealed"[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    let body = response.body_mut().read_to_string().unwrap();
    let root = dir.path().to_str().unwrap();
    assert!(
        !body.contains(root) && !body.contains("data") && !body.contains("porch"),
        "{body}"
    );
}

#[test]
fn uploads_cut_by_kill_9_are_cleaned_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let porch = dir.path().join("data/porch");
    let mut s = common::start(dir.path(), 1024);
    assert_eq!(post(&s, "/clips/porch/kept", CAMERA, b"kept clip"), 201);
    let mut upload = connect(&s);
    write!(
        upload,
        "POST /clips/porch/cut HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {CAMERA}\r\nContent-Length: 100\r\n\r\nhalf"
    )
    .unwrap();
    assert!(
        common::eventually(|| files(&porch).len() == 2),
        "{:?}",
        files(&porch)
    );
    s.child.kill().unwrap(); // SIGKILL: nothing runs on the way out.
    s.child.wait().unwrap();
    drop(upload);
    assert_eq!(
        files(&porch).len(),
        2,
        "the temporary file outlived the kill"
    );
    drop(s);
    let s = common::launch(dir.path(), &[]);
    assert_eq!(files(&porch), ["kept"]);
    assert_eq!(
        get(&s, "/clips/porch/kept", CLIENT),
        (200, b"kept clip".to_vec())
    );
}

#[test]
fn a_config_that_is_a_fifo_a_device_or_huge_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.json");
    // A regular file over the bound: never parsed.
    write_config(dir.path(), &" ".repeat(2 << 20));
    let out = common::refused(dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "{}: larger than 1024 KiB, too large for a config file",
            path.display()
        )),
        "{stderr}"
    );
    // A FIFO no one writes to would block the open itself; /dev/zero
    // (through a symlink, as configs often are) would never end.
    std::fs::remove_file(&path).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap()
            .success()
    );
    for what in ["FIFO", "/dev/zero"] {
        if what == "/dev/zero" {
            std::fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        }
        let out = common::refused(dir.path());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{}: not a regular file; give the path of the config file itself",
                path.display()
            )),
            "{what}: {stderr}"
        );
        assert!(!dir.path().join("data").exists(), "{what}");
    }
}

#[path = "../../tests/help_text.rs"]
mod help_text;

#[test]
fn every_argument_is_described_under_the_program_name() {
    help_text::check(env!("CARGO_BIN_EXE_server"), &[], "camhub-server", &[]);
}
