//! Slow and stalled clients against the real binary: each holds only its own
//! connection, and only until a timeout; nobody else waits for them.

mod common;

use std::io::{Read, Write};
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

/// Stops the server process until dropped, even if the test fails meanwhile.
struct Paused(libc::pid_t);

impl Paused {
    fn new(s: &common::Server) -> Self {
        let pid = libc::pid_t::try_from(s.child.id()).unwrap();
        // SAFETY: kill(2) only sends a signal, to our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        Paused(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[test]
fn requests_refused_for_want_of_a_slot_read_their_503_not_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(
        dir.path(),
        &config(1024),
        &["--max-connections", "2", "--header-timeout", "30s"],
    );
    let held: Vec<TcpStream> = (0..2).map(|_| connect(&s)).collect();
    assert!(common::eventually(|| health(&s) == 503));
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        // The server is paused while the clients connect and send, so it
        // finds each request unread when it refuses the connection, as a
        // busy server does.
        let paused = Paused::new(&s);
        let mut batch: Vec<TcpStream> = (0..8).map(|_| connect(&s)).collect();
        for stream in &mut batch {
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
        }
        drop(paused);
        for stream in &mut batch {
            // Read to the end as a client of `Connection: close` does: a
            // reset there is an error to it, whatever came before.
            let mut reply = Vec::new();
            let ended = stream.read_to_end(&mut reply).map(|_| ());
            let head = String::from_utf8_lossy(&reply[..reply.len().min(12)]).into_owned();
            outcomes.push((head, ended.map_err(|e| e.kind())));
        }
    }
    assert!(
        outcomes
            .iter()
            .all(|(head, ended)| head == "HTTP/1.1 503" && ended.is_ok()),
        "each refused request should read a 503 and then the end, not a reset: {outcomes:?}"
    );
    drop(held);
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

/// A clip's bytes, derived from its name, so a download is checked against
/// what was sent without keeping every upload.
fn clip_bytes(name: &str, len: usize) -> Vec<u8> {
    let mut state = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn concurrent_uploads_and_downloads_keep_every_clip_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(dir.path(), &config(1 << 20), &[]);
    let size = |i: usize| 1 + (i * 7919) % (256 << 10);
    let stored = std::sync::Mutex::new(Vec::<(String, usize)>::new());
    let uploading = std::sync::atomic::AtomicUsize::new(8);
    std::thread::scope(|scope| {
        for worker in 0..8 {
            let (s, stored, uploading) = (&s, &stored, &uploading);
            scope.spawn(move || {
                for n in 0..6 {
                    let i = worker * 6 + n;
                    let name = format!("clip-{i:02}");
                    let body = clip_bytes(&name, size(i));
                    assert_eq!(post(s, &format!("/clips/porch/{name}"), CAMERA, &body), 201);
                    stored.lock().unwrap().push((name, body.len()));
                }
                uploading.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        for reader in 0..4 {
            let (s, stored, uploading) = (&s, &stored, &uploading);
            scope.spawn(move || {
                let mut n = reader;
                while uploading.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                    let pick = {
                        let stored = stored.lock().unwrap();
                        (!stored.is_empty()).then(|| stored[n % stored.len()].clone())
                    };
                    n += 7;
                    let Some((name, len)) = pick else {
                        std::thread::yield_now();
                        continue;
                    };
                    let (status, body) = get(s, &format!("/clips/porch/{name}"), CLIENT);
                    assert_eq!(status, 200, "{name}");
                    assert!(
                        body == clip_bytes(&name, len),
                        "{name} downloads other bytes"
                    );
                }
            });
        }
    });
    let mut stored = stored.into_inner().unwrap();
    stored.sort();
    let (status, listing) = get(&s, "/clips/porch", OTHER_CLIENT);
    assert_eq!(status, 200);
    let listed: Vec<(String, usize)> = serde_json::from_slice::<Vec<serde_json::Value>>(&listing)
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["size"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(listed, stored);
    for (name, len) in &stored {
        let (status, body) = get(&s, &format!("/clips/porch/{name}"), CLIENT);
        assert_eq!(status, 200);
        assert!(
            body == clip_bytes(name, *len),
            "{name} downloads other bytes"
        );
    }
    // Nothing but the clips: no temporary file outlived its upload.
    let names: Vec<String> = stored.into_iter().map(|(name, _)| name).collect();
    assert_eq!(common::files(&dir.path().join("data/porch")), names);
}

#[test]
fn many_uploads_of_one_name_at_once_have_exactly_one_winner() {
    const RACERS: usize = 32;
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(dir.path(), &config(1 << 20), &["--blocking-threads", "4"]);
    let barrier = std::sync::Barrier::new(RACERS);
    let bodies: Vec<Vec<u8>> = (0..RACERS)
        .map(|i| clip_bytes(&format!("racer-{i}"), 64 << 10))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = bodies
            .iter()
            .map(|body| {
                let (s, barrier) = (&s, &barrier);
                scope.spawn(move || {
                    let mut stream = connect(s);
                    write!(
                        stream,
                        "POST /clips/porch/same HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {CAMERA}\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .unwrap();
                    // Every upload is under way before any can finish.
                    stream.write_all(&body[..body.len() - 1]).unwrap();
                    barrier.wait();
                    stream.write_all(&body[body.len() - 1..]).unwrap();
                    read_response(&mut stream).0
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..RACERS).filter(|&i| statuses[i] == 201).collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        RACERS - 1,
        "{statuses:?}"
    );
    let (status, stored) = get(&s, "/clips/porch/same", CLIENT);
    assert_eq!(status, 200);
    assert!(
        stored == bodies[winners[0]],
        "the stored clip is not the winner's"
    );
    assert_eq!(common::files(&dir.path().join("data/porch")), ["same"]);
    // 31 409s, each hashing the stored clip, started no thread of their own
    // (idle blocking threads stay for seconds, so they are still counted here).
    let (threads, _) = threads_and_files(&s);
    let emulator = emulator_threads();
    assert!(
        threads <= 1 + 4 + 4 + emulator,
        "{threads} threads; main, 4 workers, 4 blocking threads and {emulator} of an emulator expected at most"
    );
}

/// Threads qemu-user adds to an emulated process (its RCU thread): under
/// emulation (the aarch64 tests on x86_64) the machine, which a native
/// `uname` reports, is not this test's architecture.
fn emulator_threads() -> usize {
    let machine = std::process::Command::new("uname")
        .arg("-m")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    usize::from(!machine.is_empty() && machine != std::env::consts::ARCH)
}

/// Threads and open files of a running process, from /proc.
fn threads_and_files(s: &common::Server) -> (usize, usize) {
    let pid = s.child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let files = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (threads, files)
}

#[test]
fn a_connection_storm_grows_neither_threads_nor_open_files() {
    const LIMIT: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(
        dir.path(),
        &config(1024),
        &["--max-connections", &LIMIT.to_string()],
    );
    assert_eq!(health(&s), 200);
    let (threads, files) = threads_and_files(&s);
    let mut storm: Vec<TcpStream> = (0..300).map(|_| connect(&s)).collect();
    // The last ones are past the limit: told 503 at once, then closed.
    assert_eq!(read_response(storm.last_mut().unwrap()).0, 503);
    let (threads_now, files_now) = threads_and_files(&s);
    assert!(
        threads_now <= threads + 2,
        "{threads} threads before, {threads_now} with 300 connections"
    );
    assert!(
        // Up to 16 refused connections linger to read their request, so a
        // reset does not cost them their 503.
        files_now <= files + LIMIT + 16 + 2,
        "{files} files open before, {files_now} with 300 connections"
    );
    drop(storm);
    assert!(common::eventually(|| health(&s) == 200));
}
