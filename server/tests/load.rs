//! Slow and stalled clients against the real binary: each holds only its own
//! connection, and only until a timeout; nobody else waits for them.

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::{
    CAMERA, CLIENT, OTHER_CLIENT, config, connect, get, post, raw, read_response, start_with,
};

fn health(s: &common::Server) -> u16 {
    raw(s, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", false).0
}

/// Asks for a clip and never reads the answer.
fn stalled_download(s: &common::Server, name: &str) -> TcpStream {
    let mut stream = connect(s);
    write!(
        stream,
        "GET /clips/porch/{name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {CLIENT}\r\n\r\n"
    )
    .unwrap();
    stream
}

const BIG: usize = 32 << 20;

#[test]
fn trickling_uploads_refused_bodies_and_stalled_downloads_do_not_stop_others() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(dir.path(), &config(64 << 20), &[]);
    let clip: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    assert_eq!(post(&s, "/clips/porch/big", CAMERA, &clip), 201);
    let mut held = Vec::new();
    for i in 0..5 {
        // An upload whose body stops after a few bytes.
        let mut trickle = connect(&s);
        write!(
            trickle,
            "POST /clips/porch/slow-{i} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {CAMERA}\r\nContent-Length: 1000\r\n\r\nsome"
        )
        .unwrap();
        held.push(trickle);
        // An unauthenticated upload that announces a large body and sends none.
        let mut refused = connect(&s);
        write!(
            refused,
            "POST /clips/porch/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
        )
        .unwrap();
        held.push(refused);
        held.push(stalled_download(&s, "big"));
    }
    // Everyone else is still served, promptly and completely.
    assert_eq!(health(&s), 200);
    assert_eq!(post(&s, "/clips/porch/next", CAMERA, b"sealed"), 201);
    let (status, body) = get(&s, "/clips/porch/big", OTHER_CLIENT);
    assert_eq!(status, 200);
    assert!(body == clip, "the download differs from the upload");
    // The refused uploads were answered without their bodies.
    for refused in held.iter_mut().skip(1).step_by(3) {
        assert_eq!(read_response(refused).0, 401);
    }
    drop(held);
}

#[test]
fn excess_connections_are_refused_at_once_and_silent_ones_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(
        dir.path(),
        &config(1024),
        &["--max-connections", "3", "--header-timeout", "1s"],
    );
    let mut silent: Vec<TcpStream> = (0..3).map(|_| connect(&s)).collect();
    // Every slot is held by a client that sends nothing: the next one is told at once.
    assert!(common::eventually(|| health(&s) == 503));
    // The silent ones are cut off after the header timeout, which frees their slots.
    for stream in &mut silent {
        assert_eq!(read_response(stream).0, 408);
    }
    assert!(common::eventually(|| health(&s) == 200));
}

#[test]
fn a_viewer_that_never_reads_is_dropped_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(
        dir.path(),
        &config(64 << 20),
        &["--max-connections", "1", "--idle-timeout", "1s"],
    );
    assert_eq!(post(&s, "/clips/porch/big", CAMERA, &vec![7u8; BIG]), 201);
    let stalled = stalled_download(&s, "big");
    assert!(common::eventually(|| health(&s) == 503));
    // Far more than fits in the socket buffers is unsent, so only the idle
    // timeout can free the slot.
    assert!(common::eventually(|| health(&s) == 200));
    drop(stalled);
}
