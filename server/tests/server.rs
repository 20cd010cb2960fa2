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

/// The status and `X-Clip-SHA256` header of an upload.
fn post_with_hash(s: &common::Server, path: &str, body: &[u8]) -> (u16, Option<String>) {
    let response = common::agent()
        .post(format!("{}{path}", s.url))
        .header("Authorization", &format!("Bearer {CAMERA}"))
        .send(body)
        .unwrap();
    let hash = response
        .headers()
        .get("x-clip-sha256")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), hash)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_409_names_the_stored_clips_sha256_and_only_for_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 1024);
    let stored = b"sealed clip, stored before the hub crashed";
    assert_eq!(
        post_with_hash(&s, "/clips/porch/clip-1", stored),
        (201, None)
    );
    // The same bytes again, and other bytes: the header is the stored clip's
    // hash either way; the hub compares it with its own copy.
    let expected = Some(sha256_hex(stored));
    assert_eq!(
        post_with_hash(&s, "/clips/porch/clip-1", stored),
        (409, expected.clone())
    );
    assert_eq!(
        post_with_hash(&s, "/clips/porch/clip-1", b"other bytes"),
        (409, expected)
    );
    assert_eq!(
        std::fs::read(dir.path().join("data/porch/clip-1")).unwrap(),
        stored
    );
    // A symlink in the data folder is not followed, so nothing outside it
    // is read or vouched for; a folder has no hash.
    let outside = dir.path().join("outside");
    std::fs::write(&outside, b"not a clip").unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("data/porch/clip-2")).unwrap();
    std::fs::create_dir(dir.path().join("data/porch/clip-3")).unwrap();
    assert_eq!(
        post_with_hash(&s, "/clips/porch/clip-2", b"not a clip"),
        (409, None)
    );
    assert_eq!(post_with_hash(&s, "/clips/porch/clip-3", b"x"), (409, None));
    // A stored clip larger than any upload could be is not hashed.
    std::fs::write(dir.path().join("data/porch/clip-4"), vec![7u8; 1025]).unwrap();
    assert_eq!(post_with_hash(&s, "/clips/porch/clip-4", b"x"), (409, None));
}
