//! The hub binary end to end: generated JPEG frames with a moving square, a
//! script in place of the camera command (raspberry build) or a real HTTP
//! server on 127.0.0.1 as the IP camera (ip build), and a real HTTP server
//! receiving the uploads. Run with `--features raspberry` or `--features ip`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

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

/// A server on 127.0.0.1 that answers every upload with `status` and
/// reports what it received.
fn upload_server(status: u16) -> (String, mpsc::Receiver<Upload>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        while let Ok(Some(mut request)) = server.recv_timeout(Duration::from_secs(30)) {
            let mut body = Vec::new();
            request.as_reader().read_to_end(&mut body).unwrap();
            let auth = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.to_string())
                .unwrap_or_default();
            let _ = tx.send(Upload {
                url: request.url().to_owned(),
                auth,
                body,
            });
            request.respond(tiny_http::Response::empty(status)).unwrap();
        }
    });
    (url, rx)
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

fn hub(config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_camera_hub"))
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
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
        "camera stopped: 15 frames, 1 clips, 1 uploaded, 0 waiting in {}\n",
        dir.join("clips/pending").display()
    )));
    assert_eq!(
        fs::read(dir.join("clips/sent").join(name)).unwrap(),
        upload.body
    );
}

/// The main path for either source: the hub runs until the camera stops and
/// the one clip of `scene()` arrives at the server, sealed.
fn records_the_scene(source: impl FnOnce(&Path) -> serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let (url, rx) = upload_server(201);
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
        let (url, _rx) = upload_server(503);
        let config = write_config(
            dir.path(),
            &url,
            serde_json::json!({ "camera_command": camera_script(dir.path()) }),
        );
        let out = hub(&config);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success());
        assert!(stdout.contains("failed, kept for later"), "{stdout}");
        assert!(
            stdout.contains("1 clips, 0 uploaded, 1 waiting"),
            "{stdout}"
        );
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
}

#[cfg(feature = "ip")]
mod ip {
    use super::*;

    /// An IP camera on 127.0.0.1 serving `scene()` as multipart MJPEG, then closing.
    fn camera() -> String {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/video.mjpg",
            server.server_addr().to_ip().unwrap()
        );
        thread::spawn(move || {
            let request = server.recv().unwrap();
            let mut body = Vec::new();
            for f in scene() {
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
            let header = tiny_http::Header::from_bytes(
                "Content-Type",
                "multipart/x-mixed-replace; boundary=frame",
            )
            .unwrap();
            request
                .respond(tiny_http::Response::from_data(body).with_header(header))
                .unwrap();
        });
        url
    }

    #[test]
    fn records_seals_and_uploads_the_clip_around_the_motion() {
        records_the_scene(|_| serde_json::json!({ "camera_url": camera() }));
    }

    #[test]
    fn a_url_that_is_not_a_stream_or_missing_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (url, _rx) = upload_server(200);
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
