//! Hostile requests to the real binary over raw TCP: framing, cut-off
//! bodies, absurd lengths, control characters. The server must answer each
//! with a clear status, store nothing it did not fully receive, and live on.

mod common;

use std::io::Write;
use std::net::Shutdown;

use common::{CAMERA, CLIENT, connect, files, get, post, raw, read_response, start};

fn upload_head(name: &str, framing: &str) -> String {
    format!(
        "POST /clips/porch/{name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {CAMERA}\r\n{framing}\r\n"
    )
}

#[test]
fn an_absurd_content_length_is_refused_and_the_server_lives() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(dir.path(), 1024);
    let huge = "Content-Length: 99999999999999\r\n";
    // Unauthenticated, on a route that reads no body.
    let (status, _) = raw(
        &s,
        format!("GET /health HTTP/1.1\r\nHost: x\r\n{huge}\r\n").as_bytes(),
        false,
    );
    assert_eq!(status, 200);
    // Authenticated upload: refused before a byte of the body is read.
    let (status, reply) = raw(&s, upload_head("big", huge).as_bytes(), false);
    assert_eq!(status, 413, "{reply}");
    assert!(s.is_running(), "the server died");
    assert_eq!(get(&s, "/health", "").0, 200);
    assert_eq!(files(&dir.path().join("data/porch")), Vec::<String>::new());
}

#[test]
fn cut_off_uploads_store_nothing_and_the_real_clip_still_goes_in() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 1024);
    let porch = dir.path().join("data/porch");
    // Half-close after half the declared body.
    let mut half = upload_head("clip", "Content-Length: 100\r\n").into_bytes();
    half.extend_from_slice(&[b'a'; 50]);
    let (status, reply) = raw(&s, &half, true);
    assert_eq!(status, 400, "{reply}");
    // A chunked body that ends without its last chunk.
    let mut chunked = upload_head("clip", "Transfer-Encoding: chunked\r\n").into_bytes();
    chunked.extend_from_slice(b"5\r\nhello\r\n");
    let (status, reply) = raw(&s, &chunked, true);
    assert_eq!(status, 400, "{reply}");
    // A client killed mid-body: the connection just goes away.
    let mut killed = connect(&s);
    killed.write_all(&half).unwrap();
    drop(killed);
    assert!(
        common::eventually(|| files(&porch).is_empty()),
        "left behind: {:?}",
        files(&porch)
    );
    // The real clip is stored whole, not refused as a duplicate.
    assert_eq!(post(&s, "/clips/porch/clip", CAMERA, &[b'r'; 100]), 201);
    assert_eq!(std::fs::read(porch.join("clip")).unwrap(), [b'r'; 100]);
    // A complete chunked upload is fine.
    let mut whole = upload_head("chunked", "Transfer-Encoding: chunked\r\n").into_bytes();
    whole.extend_from_slice(b"5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(raw(&s, &whole, false).0, 201);
    assert_eq!(std::fs::read(porch.join("chunked")).unwrap(), b"hello");
    assert_eq!(files(&porch), ["chunked", "clip"]);
}

#[test]
fn ambiguous_framing_and_empty_clips_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 1024);
    let ambiguous = [
        "Content-Length: 5\r\nContent-Length: 5\r\n",
        "Content-Length: 5\r\nContent-Length: 3\r\n",
        "Content-Length: 3\r\nContent-Length: 5\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: 5, 5\r\n",
        "Content-Length: 0\r\n",
    ];
    for framing in ambiguous {
        // Refused at the head: the body is never read, so none is sent (unread
        // bytes would turn the close into a reset racing the reply).
        let (status, reply) = raw(&s, upload_head("clip", framing).as_bytes(), true);
        assert_eq!(status, 400, "{framing:?}: {reply}");
    }
    let mut empty_chunked = upload_head("clip", "Transfer-Encoding: chunked\r\n").into_bytes();
    empty_chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw(&s, &empty_chunked, true).0, 400);
    assert_eq!(files(&dir.path().join("data/porch")), Vec::<String>::new());
    assert_eq!(post(&s, "/clips/porch/clip", CAMERA, b""), 400);
    assert_eq!(get(&s, "/clips/porch", CLIENT), (200, b"[]\n".to_vec()));
}

#[test]
fn the_largest_upload_limit_does_not_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), u64::MAX);
    assert_eq!(post(&s, "/clips/porch/clip", CAMERA, b"sealed bytes"), 201);
    assert_eq!(
        std::fs::read(dir.path().join("data/porch/clip")).unwrap(),
        b"sealed bytes"
    );
    let mut chunked = upload_head("chunked", "Transfer-Encoding: chunked\r\n").into_bytes();
    chunked.extend_from_slice(b"5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(raw(&s, &chunked, false).0, 201);
    assert_eq!(
        std::fs::read(dir.path().join("data/porch/chunked")).unwrap(),
        b"hello"
    );
}

#[test]
fn request_data_is_escaped_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 1024);
    let requests: [&[u8]; 5] = [
        b"GET /x\nGET /health 200\n HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /\x1b[31mred\x1b[0m HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /nul\0byte HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /x\r\nGET /health 200 HTTP/1.1\r\nHost: x\r\n\r\n",
        // A C1 control (CSI, a terminal escape) is valid UTF-8 in a request
        // target; ambiguous framing gets it logged by the refusal.
        "POST /clips/\u{9b}31mporch HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"
            .as_bytes(),
    ];
    for request in requests {
        let mut stream = connect(&s);
        stream.write_all(request).unwrap();
        let _ = stream.shutdown(Shutdown::Write);
        // Any answer or a close; what matters is what was logged.
        let _ = std::io::Read::read_to_end(&mut stream, &mut Vec::new());
    }
    let mut health = connect(&s);
    health
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut health).0, 200);
    let log = s.stop_and_log();
    assert!(log.ends_with("GET /health 200\n"), "{log:?}");
    assert_eq!(log.matches("GET /health 200").count(), 1, "{log:?}");
    for line in log.lines() {
        assert!(
            !line.chars().any(char::is_control),
            "a control character reached the log: {line:?}"
        );
        assert_eq!(line.split(' ').count(), 3, "{line:?}");
    }
    assert!(log.contains("\\u{9b}31mporch"), "{log:?}");
}
