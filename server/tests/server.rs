//! The server binary on 127.0.0.1 with a real HTTP client.

mod common;

use common::{CAMERA, CLIENT, OTHER_CLIENT, get, post, start};

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
        get(&s, "/clips/porch/clip-2.mjpeg", OTHER_CLIENT),
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
    assert_eq!(common::files(&dir.path().join("data/porch")), ["ok"]);
}
