//! The hub binary end to end: generated JPEG frames with a moving square, a
//! script in place of the camera command (raspberry build) or a real HTTP
//! server on 127.0.0.1 as the IP camera (ip build), and a real HTTP server
//! receiving the uploads. Run with `--features raspberry` or `--features ip`.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use jpeg_encoder::{ColorType, Encoder};

const KEY: &str = "0707070707070707070707070707070707070707070707070707070707070707";
const TOKEN: &str = "upload-token";

/// A 160×120 grey frame, with a white 40×40 square at `square` (x, y).
fn frame(square: Option<(usize, usize)>) -> Vec<u8> {
    let (w, h) = (160, 120);
    let mut pixels = vec![90u8; w * h];
    if let Some((sx, sy)) = square {
        for y in sy..sy + 40 {
            for x in sx..sx + 40 {
                pixels[y * w + x] = 250;
            }
        }
    }
    let mut out = Vec::new();
    Encoder::new(&mut out, 90)
        .encode(&pixels, w as u16, h as u16, ColorType::Luma)
        .unwrap();
    out
}

/// 5 still frames, a square moving through 4 frames, 6 still frames.
/// Frames 5..=9 move (9: the square vanished), so with pre_frames 2 and
/// post_frames 3 the clip is frames 3..=12.
fn scene() -> Vec<Vec<u8>> {
    let mut frames = vec![frame(None); 5];
    for x in [10, 50, 90, 110] {
        frames.push(frame(Some((x, 40))));
    }
    frames.extend(vec![frame(None); 6]);
    frames
}

struct Upload {
    url: String,
    auth: String,
    body: Vec<u8>,
}

/// A request's target, headers (lowercase names) and body.
type Request = (String, Vec<(String, String)>, Vec<u8>);

/// Reads one HTTP/1.1 request (headers and a Content-Length body).
fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split(' ').nth(1)?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((target, headers, body))
}

/// A server on 127.0.0.1 that answers each upload with what `answer` says
/// for it (status and extra headers) and reports what it received.
fn upload_server(
    answer: impl Fn(&Upload) -> (u16, Vec<(String, String)>) + Send + 'static,
) -> (String, mpsc::Receiver<Upload>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let Some((target, headers, body)) = read_request(&stream) else {
                continue;
            };
            let auth = headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let upload = Upload {
                url: target,
                auth,
                body,
            };
            let (status, extra) = answer(&upload);
            let mut reply =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n");
            for (name, value) in extra {
                reply.push_str(&format!("{name}: {value}\r\n"));
            }
            reply.push_str("\r\n");
            let _ = stream.write_all(reply.as_bytes());
            let _ = tx.send(upload);
        }
    });
    (url, rx)
}

fn answering(status: u16) -> (String, mpsc::Receiver<Upload>) {
    upload_server(move |_| (status, Vec::new()))
}

fn write_config(dir: &Path, server_url: &str, source: serde_json::Value) -> std::path::PathBuf {
    let mut config = serde_json::json!({
        "camera_id": "porch",
        "server_url": server_url,
        "token": TOKEN,
        "key": KEY,
        "clip_dir": "clips",
        "motion": { "pre_frames": 2, "post_frames": 3, "max_frames": 100,
                    "cell_threshold": 24, "min_changed_fraction": 0.02 }
    });
    config
        .as_object_mut()
        .unwrap()
        .extend(source.as_object().unwrap().clone());
    let path = dir.join("hub.json");
    fs::write(&path, config.to_string()).unwrap();
    path
}

/// Runs the hub; a run over 60 s is killed and fails the test (a hang).
fn hub(config: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_camera_hub"))
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the hub hung; it printed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The one clip of `scene()` was uploaded, sealed, and opens to frames 3..=12.
fn assert_scene_uploaded(dir: &Path, rx: &mpsc::Receiver<Upload>, stdout: &str) {
    let upload = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("one upload");
    assert!(rx.try_recv().is_err(), "exactly one clip");
    let name = upload
        .url
        .strip_prefix("/clips/porch/")
        .expect("uploaded under the camera's id");
    assert_eq!(upload.auth, format!("Bearer {TOKEN}"));
    let key = hubcore::secret::key_from_hex(KEY).unwrap();
    let plain = hubcore::clip::open(&key, "porch", name, &upload.body).unwrap();
    assert_eq!(plain, scene()[3..=12].concat());
    assert!(
        stdout.contains(&format!("recorded {name}: 10 frames")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("uploaded {name}\n")), "{stdout}");
    assert!(stdout.ends_with(&format!(
        "camera stopped: 15 frames, 1 clip, 1 uploaded, 0 waiting in {}\n",
        dir.join("clips/pending").display()
    )));
    assert_eq!(
        fs::read(dir.join("clips/sent").join(name)).unwrap(),
        upload.body
    );
}

/// The main path for either source: the hub runs until the camera stops and
/// the one clip of `scene()` arrives at the server, sealed.
#[cfg(feature = "raspberry")]
fn records_the_scene(source: impl FnOnce(&Path) -> serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let (url, rx) = answering(201);
    let config = write_config(dir.path(), &url, source(dir.path()));
    let out = hub(&config);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_scene_uploaded(dir.path(), &rx, &stdout);
}

#[cfg(feature = "raspberry")]
mod raspberry {
    use super::*;

    fn camera_script(dir: &Path) -> String {
        fs::write(dir.join("frames.mjpeg"), scene().concat()).unwrap();
        format!("cat '{}'", dir.join("frames.mjpeg").display())
    }

    #[test]
    fn records_seals_and_uploads_the_clip_around_the_motion() {
        records_the_scene(|dir| serde_json::json!({ "camera_command": camera_script(dir) }));
    }

    #[test]
    fn a_server_that_refuses_leaves_the_clip_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let (url, _rx) = answering(503);
        let config = write_config(
            dir.path(),
            &url,
            serde_json::json!({ "camera_command": camera_script(dir.path()) }),
        );
        let out = hub(&config);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success());
        assert!(stdout.contains("failed, kept for later"), "{stdout}");
        assert!(stdout.contains("1 clip, 0 uploaded, 1 waiting"), "{stdout}");
        assert_eq!(
            fs::read_dir(dir.path().join("clips/pending"))
                .unwrap()
                .count(),
            1
        );
    }

    #[test]
    fn a_failing_camera_command_and_a_bad_key_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            dir.path(),
            "http://127.0.0.1:9",
            serde_json::json!({ "camera_command": "exit 3" }),
        );
        let out = hub(&config);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("the camera command `exit 3` failed (exit status: 3)"),
            "{stderr}"
        );

        let mut bad: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&config).unwrap()).unwrap();
        bad["key"] = "short".into();
        fs::write(&config, bad.to_string()).unwrap();
        let out = hub(&config);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("hub.json: field `key`: a key must be 64 hex digits"),
            "{stderr}"
        );
    }

    #[test]
    fn a_broken_frame_is_skipped_and_the_next_ones_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (url, rx) = answering(201);
        let frames = scene();
        let mut stream = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            match i {
                // Cut off in its data: the next frame starts there.
                6 => stream.extend(&f[..f.len() / 2]),
                // Garbage where a marker should be.
                10 => {
                    stream.extend([0xFF, 0xD8, 0x12, 0x34]);
                    stream.extend(f);
                }
                _ => stream.extend(f),
            }
        }
        let config = write_config(d, &url, camera_for(d, &stream));
        let out = hub(&config);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout
                .matches("skipped 1 malformed or cut-off frame from")
                .count(),
            2,
            "{stdout}"
        );
        let upload = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let name = upload.url.strip_prefix("/clips/porch/").unwrap();
        let key = hubcore::secret::key_from_hex(KEY).unwrap();
        let plain = hubcore::clip::open(&key, "porch", name, &upload.body).unwrap();
        let expected: Vec<u8> = [3, 4, 5, 7, 8, 9, 10, 11, 12]
            .iter()
            .flat_map(|&i| frames[i].clone())
            .collect();
        assert_eq!(plain, expected);
        assert!(
            stdout.contains("camera stopped: 14 frames, 1 clip, 1 uploaded"),
            "{stdout}"
        );
    }

    #[test]
    fn a_camera_command_dying_mid_motion_keeps_the_clip() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (url, rx) = answering(201);
        let frames = scene();
        let mut stream = frames[..7].concat();
        stream.extend(&frames[7][..50]);
        fs::write(d.join("part.mjpeg"), stream).unwrap();
        let command = format!("cat '{}'; exit 3", d.join("part.mjpeg").display());
        let config = write_config(d, &url, serde_json::json!({ "camera_command": command }));
        let out = hub(&config);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("failed (exit status: 3)"));
        let upload = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the clip in progress was kept");
        let name = upload.url.strip_prefix("/clips/porch/").unwrap();
        let key = hubcore::secret::key_from_hex(KEY).unwrap();
        let plain = hubcore::clip::open(&key, "porch", name, &upload.body).unwrap();
        assert_eq!(plain, frames[3..7].concat());
        assert!(
            stdout.contains("camera stopped: 7 frames, 1 clip, 1 uploaded"),
            "{stdout}"
        );
    }

    #[test]
    fn waiting_clips_are_retried_on_a_timer_while_the_camera_runs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let flag = d.join("uploaded");
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let flag_for_server = flag.clone();
        // The first try is refused for now; the next one is taken.
        let (url, _rx) = upload_server(move |_| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                (503, Vec::new())
            } else {
                fs::write(&flag_for_server, b"").unwrap();
                (201, Vec::new())
            }
        });
        fs::write(d.join("frames.mjpeg"), scene().concat()).unwrap();
        // The camera keeps running (sending nothing) until the clip got
        // through, for 20 s at most; it fails if it had to give up.
        let command = format!(
            "cat '{}'; i=0; while [ ! -e '{}' ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; [ -e '{}' ]",
            d.join("frames.mjpeg").display(),
            flag.display(),
            flag.display()
        );
        let config = write_config(
            d,
            &url,
            serde_json::json!({ "camera_command": command, "upload": { "retry_secs": 1 } }),
        );
        let out = hub(&config);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("failed, kept for later"), "{stdout}");
        assert!(stdout.contains("1 clip, 1 uploaded, 0 waiting"), "{stdout}");
    }
}

#[cfg(feature = "ip")]
mod ip {
    use super::*;

    /// An IP camera on 127.0.0.1: connection i gets `streams[i]` as
    /// multipart MJPEG (raw bytes), then the connection closes, or stays
    /// open and silent when `stall`. After the last, connections are refused.
    pub fn camera_serving(streams: Vec<Vec<u8>>, stall: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/video.mjpg", listener.local_addr().unwrap());
        thread::spawn(move || {
            let mut held = Vec::new();
            for body in streams {
                let (mut stream, _) = listener.accept().unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                read_request(&stream).unwrap();
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\nConnection: close\r\n\r\n",
                );
                let _ = stream.write_all(&body);
                if stall {
                    held.push(stream);
                }
            }
            drop(listener);
            thread::sleep(Duration::from_secs(120));
            drop(held);
        });
        url
    }

    fn multipart(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        for f in frames {
            body.extend(
                format!(
                    "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    f.len()
                )
                .bytes(),
            );
            body.extend(f);
            body.extend(b"\r\n");
        }
        body
    }

    /// The camera serves `scene()` once; the hub then gives up on it quickly.
    fn camera() -> String {
        camera_serving(vec![multipart(&scene())], false)
    }

    pub fn quick_giving_up(url: String) -> serde_json::Value {
        serde_json::json!({
            "camera_url": url,
            "stream": { "read_timeout_secs": 1, "reconnect_attempts": 2, "max_backoff_secs": 0 }
        })
    }

    #[test]
    fn records_seals_and_uploads_the_clip_around_the_motion() {
        let dir = tempfile::tempdir().unwrap();
        let (url, rx) = answering(201);
        let config = write_config(dir.path(), &url, quick_giving_up(camera()));
        let out = hub(&config);
        let stdout = String::from_utf8(out.stdout).unwrap();
        // A camera that is gone for good is an error, after the clip is safe.
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("giving up on the camera stream at http://127.0.0.1:"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_scene_uploaded(dir.path(), &rx, &stdout);
    }

    #[test]
    fn a_dropped_stream_is_reconnected_and_the_clip_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (url, rx) = answering(201);
        let frames = scene();
        // The stream drops in the middle of the motion, and mid-frame.
        let mut first = multipart(&frames[..7]);
        first.extend(&frames[7][..40]);
        let camera = camera_serving(vec![first, multipart(&frames[7..])], false);
        let config = write_config(dir.path(), &url, quick_giving_up(camera));
        let out = hub(&config);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("the camera stream ended; reconnecting in 0 s"),
            "{stdout}"
        );
        assert!(
            stdout.contains("skipped 1 malformed or cut-off frame from"),
            "{stdout}"
        );
        assert_scene_uploaded(dir.path(), &rx, &stdout);
    }

    #[test]
    fn a_stalled_stream_times_out_and_the_hub_gives_up_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (url, rx) = answering(201);
        let camera = camera_serving(vec![multipart(&scene())], true);
        let config = write_config(dir.path(), &url, quick_giving_up(camera));
        let out = hub(&config);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("reading the camera stream: "), "{stdout}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("giving up on the camera stream"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_scene_uploaded(dir.path(), &rx, &stdout);
    }

    #[test]
    fn a_url_that_is_not_a_stream_or_missing_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (url, _rx) = answering(200);
        let config = write_config(
            dir.path(),
            &url,
            serde_json::json!({ "camera_url": format!("{url}/index.html") }),
        );
        let out = hub(&config);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("not an MJPEG stream; point camera_url at the camera's MJPEG URL"),
            "{stderr}"
        );

        let config = write_config(dir.path(), &url, serde_json::json!({}));
        let out = hub(&config);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("hub.json: camera source: the config has no `camera_url`"),
            "{stderr}"
        );
    }
}

/// A camera (command or IP stream) that sends `stream` (raw bytes) and stops.
#[cfg(feature = "raspberry")]
fn camera_for(dir: &Path, stream: &[u8]) -> serde_json::Value {
    let path = dir.join(format!(
        "camera-{}.mjpeg",
        fs::read_dir(dir).unwrap().count()
    ));
    fs::write(&path, stream).unwrap();
    serde_json::json!({ "camera_command": format!("cat '{}'", path.display()) })
}

#[cfg(feature = "ip")]
fn camera_for(_dir: &Path, stream: &[u8]) -> serde_json::Value {
    ip::quick_giving_up(ip::camera_serving(vec![stream.to_vec()], false))
}

/// How the hub exits when its camera stops: an IP camera that is gone is an error.
const STOPPED: i32 = if cfg!(feature = "ip") { 1 } else { 0 };

fn merged(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    base
}

fn sealed_clip(name: &str, plain: &[u8]) -> Vec<u8> {
    let key = hubcore::secret::key_from_hex(KEY).unwrap();
    hubcore::clip::seal(&key, "porch", name, plain).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn refused_clips_do_not_block_the_queue_and_non_files_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pending = d.join("clips/pending");
    fs::create_dir_all(&pending).unwrap();
    // Left by earlier runs: one over the server's limit, one stored before a
    // crash (same bytes), one whose name the server holds with other bytes,
    // and a folder and a FIFO named like clips.
    let too_big = sealed_clip("clip-1.mjpeg", b"big");
    let stored = sealed_clip("clip-2.mjpeg", b"stored");
    let other = sealed_clip("clip-3.mjpeg", b"other");
    fs::write(pending.join("clip-1.mjpeg"), &too_big).unwrap();
    fs::write(pending.join("clip-2.mjpeg"), &stored).unwrap();
    fs::write(pending.join("clip-3.mjpeg"), &other).unwrap();
    fs::create_dir(pending.join("clip-0.mjpeg")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(pending.join("clip-00.mjpeg"))
            .status()
            .unwrap()
            .success()
    );
    let stored_hash = sha256_hex(&stored);
    let (url, rx) = upload_server(move |upload| match upload.url.as_str() {
        "/clips/porch/clip-1.mjpeg" => (413, Vec::new()),
        "/clips/porch/clip-2.mjpeg" => (409, vec![("X-Clip-SHA256".into(), stored_hash.clone())]),
        "/clips/porch/clip-3.mjpeg" => (409, vec![("X-Clip-SHA256".into(), "00".repeat(32))]),
        _ => (201, Vec::new()),
    });
    let config = write_config(d, &url, camera_for(d, &scene().concat()));
    let out = hub(&config);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(STOPPED),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("the server refused clip-1.mjpeg for good; kept at"),
        "{stdout}"
    );
    assert!(
        stdout.contains("uploaded clip-2.mjpeg (already on the server)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the server refused clip-3.mjpeg for good"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "skipping {}: not a regular file",
            pending.join("clip-0.mjpeg").display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "skipping {}: not a regular file",
            pending.join("clip-00.mjpeg").display()
        )),
        "{stdout}"
    );
    assert_eq!(
        fs::read(d.join("clips/rejected/clip-1.mjpeg")).unwrap(),
        too_big
    );
    assert_eq!(
        fs::read(d.join("clips/rejected/clip-3.mjpeg")).unwrap(),
        other
    );
    assert_eq!(fs::read(d.join("clips/sent/clip-2.mjpeg")).unwrap(), stored);
    // The new clip got through after them.
    let uploads: Vec<Upload> = rx.try_iter().collect();
    let new: Vec<&Upload> = uploads
        .iter()
        .filter(|u| {
            !u.url.starts_with("/clips/porch/clip-1.")
                && !u.url.starts_with("/clips/porch/clip-2.")
                && !u.url.starts_with("/clips/porch/clip-3.")
        })
        .collect();
    assert_eq!(new.len(), 1, "{stdout}");
    assert!(stdout.contains("2 uploaded, 2 waiting"), "{stdout}");
}

#[test]
fn a_server_that_never_answers_neither_hangs_the_hub_nor_holds_up_recording() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Accepts connections and reads nothing, answers nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        let held: Vec<TcpStream> = listener.incoming().map_while(Result::ok).collect();
        drop(held);
    });
    let twice = [scene(), scene()].concat().concat();
    let config = write_config(
        d,
        &url,
        merged(
            camera_for(d, &twice),
            serde_json::json!({ "upload": { "timeout_secs": 2 } }),
        ),
    );
    let out = hub(&config);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(STOPPED), "{stdout}");
    let recorded: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("recorded ")?.split(':').next())
        .collect();
    assert_eq!(recorded.len(), 2, "{stdout}");
    // The second clip was recorded while the first one's upload still waited.
    let second_recorded = stdout.find(&format!("recorded {}", recorded[1])).unwrap();
    let first_failed = stdout
        .find(&format!("upload of {} failed, kept for later", recorded[0]))
        .expect("the upload timed out");
    assert!(second_recorded < first_failed, "{stdout}");
    assert!(stdout.contains("0 uploaded, 2 waiting"), "{stdout}");
}

#[test]
fn a_frame_declaring_a_huge_size_is_skipped_without_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (url, _rx) = answering(201);
    let mut huge = frame(None);
    // SOF0: FF C0, length, precision, then height and width.
    let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    huge[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let mut frames = scene();
    frames.insert(2, huge);
    let config = write_config(d, &url, camera_for(d, &frames.concat()));
    let out = hub(&config);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(STOPPED), "{stdout}");
    assert!(
        stdout.contains("skipping frame 3: the frame declares 65535x65535 pixels, more than motion.max_frame_pixels (16777216)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("camera stopped: 16 frames, 1 clip, 1 uploaded"),
        "{stdout}"
    );
}

#[test]
fn clips_are_split_below_the_upload_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (url, rx) = answering(201);
    let frames = scene();
    let limit = frames[3..=12].iter().map(|f| f.len()).sum::<usize>() / 3 + 36;
    let config = write_config(
        d,
        &url,
        merged(
            camera_for(d, &frames.concat()),
            serde_json::json!({ "upload": { "max_clip_bytes": limit } }),
        ),
    );
    let out = hub(&config);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(STOPPED), "{stdout}");
    let key = hubcore::secret::key_from_hex(KEY).unwrap();
    let mut uploads: Vec<Upload> = rx.try_iter().collect();
    uploads.sort_by(|a, b| a.url.cmp(&b.url));
    assert!(uploads.len() >= 3, "{stdout}");
    let mut plain = Vec::new();
    for upload in &uploads {
        assert!(upload.body.len() <= limit, "{} bytes", upload.body.len());
        let name = upload.url.strip_prefix("/clips/porch/").unwrap();
        plain.extend(hubcore::clip::open(&key, "porch", name, &upload.body).unwrap());
    }
    assert_eq!(plain, frames[3..=12].concat());
}

#[test]
fn a_bad_server_url_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for bad in ["http://", "https://clips.example.org\n"] {
        let config = write_config(d, bad, camera_for(d, &scene().concat()));
        let out = hub(&config);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("hub.json: field `server_url`: server URL"),
            "{stderr}"
        );
        assert!(!d.join("clips").exists(), "nothing recorded");
    }
}

#[test]
fn a_config_that_is_a_fifo_a_device_or_huge_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("hub.json");
    // A regular file over the bound: never parsed.
    fs::write(&path, " ".repeat(2 << 20)).unwrap();
    let out = hub(&path);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "{}: larger than 1024 KiB, too large for a config file",
            path.display()
        )),
        "{stderr}"
    );
    // A FIFO no one writes to would block the open itself; /dev/zero
    // (through a symlink, as configs often are) would be read until memory
    // runs out. hub() fails the test if the hub hangs.
    fs::remove_file(&path).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap()
            .success()
    );
    for what in ["FIFO", "/dev/zero"] {
        if what == "/dev/zero" {
            fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        }
        let out = hub(&path);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{}: not a regular file; give the path of the config file itself",
                path.display()
            )),
            "{what}: {stderr}"
        );
        assert!(!d.join("clips").exists(), "{what}");
    }
}

/// The name users run: the released binary of this feature's build.
#[cfg(feature = "ip")]
const PROGRAM: &str = "camhub-ip";
#[cfg(feature = "raspberry")]
const PROGRAM: &str = "camhub-raspberry";

#[test]
fn errors_and_help_name_the_program_that_was_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = hub(&dir.path().join("absent.json"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("{PROGRAM}: ")) && stderr.contains("absent.json"),
        "{stderr}"
    );
    assert!(!stderr.contains("camera_hub"), "{stderr}");

    let help = help_text::check(env!("CARGO_BIN_EXE_camera_hub"), &[], PROGRAM, &[]);
    assert!(
        help.starts_with(&format!("{PROGRAM}: records clips")),
        "{help}"
    );
    assert_eq!(
        help.matches("Exit codes: 0 the camera stopped").count(),
        1,
        "{help}"
    );
}

#[path = "../../tests/help_text.rs"]
mod help_text;
