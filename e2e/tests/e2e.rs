//! The three programs as a user runs them: `camhub-config new` writes the
//! configs, camhub-server and camhub-ip start on those files unchanged (no
//! option but --config), an IP camera on 127.0.0.1 (std::net, multipart
//! MJPEG) shows motion, and the clip goes from the camera through the server
//! to the viewer: `camhub-config clips list`, `clips get` and `open-clip`.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use jpeg_encoder::{ColorType, Encoder};
use serde::Deserialize;

/// Long enough for any step here; a hang fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

/// The configs as `camhub-config new` writes them; only what the test reads.
#[derive(Debug, Deserialize)]
struct HubFile {
    camera_id: String,
    token: String,
}

#[derive(Debug, Deserialize)]
struct ClientFile {
    token: String,
}

/// An entry of the server's clip list.
#[derive(Debug, Deserialize, PartialEq)]
struct Listed {
    name: String,
    size: u64,
}

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

/// 12 still frames, a square moving through 4, then 36 still. With the
/// default motion settings `camhub-config new` writes (10 frames before the
/// motion, 30 still ones after it), frames 12..=16 show motion (16: the
/// square vanished) and the clip is frames 2..=46.
fn scene() -> Vec<Vec<u8>> {
    let mut frames = vec![frame(None); 12];
    for x in [10, 50, 90, 110] {
        frames.push(frame(Some((x, 40))));
    }
    frames.extend(vec![frame(None); 36]);
    frames
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

/// An IP camera on 127.0.0.1: its first connection gets `first` as a
/// multipart MJPEG stream, later ones no frames; every connection then stays
/// open and silent, as a camera watching a still scene would.
fn camera(first: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/video.mjpg", listener.local_addr().unwrap());
    thread::spawn(move || {
        let mut held = Vec::new();
        let mut body = Some(first);
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = BufReader::new(&stream);
            let mut line = String::new();
            while head.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n",
            );
            let _ = stream.write_all(&body.take().unwrap_or_default());
            held.push(stream);
        }
    });
    url
}

/// A port on 127.0.0.1 that was free a moment ago: the server's URL must be
/// in hub.json before the server runs.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running program whose output lines arrive on `lines`; killed on drop.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn start(program: &str, args: &[&std::ffi::OsStr]) -> Running {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line printed so far or from now on for which `wanted`
    /// holds; panics, showing what was printed, if the program ends or takes
    /// too long.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        if let Some(line) = self.seen.iter().find(|l| wanted(l)) {
            return line.clone();
        }
        let started = Instant::now();
        while let Some(left) = PATIENCE.checked_sub(started.elapsed()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line saying {what}; the program printed:\n{}",
            self.seen.join("\n")
        );
    }

    fn printed(&self) -> String {
        self.seen.join("\n")
    }
}

/// `camhub-config new` in `dir` for a server on `port` and `camera_url`.
fn new_configs(dir: &Path, port: u16, camera_url: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_camhub-config"))
        .args(["new", "--camera-id", "porch", "--server-url"])
        .arg(format!("http://127.0.0.1:{port}"))
        .args(["--camera-url", camera_url, "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The server on the generated server.json as it is: it must listen where
/// hub.json and client.json point.
fn server(dir: &Path, port: u16) -> Running {
    let config = dir.join("server.json");
    let mut server = Running::start(
        env!("CARGO_BIN_EXE_camhub-server"),
        &["--config".as_ref(), config.as_ref()],
    );
    server.wait_for("that it listens where the configs point", |l| {
        l == format!("listening on http://127.0.0.1:{port}")
    });
    server
}

fn hub(dir: &Path) -> Running {
    let config = dir.join("hub.json");
    Running::start(
        env!("CARGO_BIN_EXE_camhub-ip"),
        &["--config".as_ref(), config.as_ref()],
    )
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PATIENCE))
        .build()
        .into()
}

/// GET with a viewing token: status and body.
fn get(url: &str, token: &str) -> (u16, Vec<u8>) {
    let mut response = agent()
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    (response.status().as_u16(), body)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The name in a hub line `uploaded <name>...`.
fn uploaded_name(line: &str) -> String {
    line.strip_prefix("uploaded ")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned()
}

/// Generated configs, the server and the hub on them, and the scene's clip
/// uploaded in `dir`: the server, its port and the clip's name.
fn one_clip_through(dir: &Path) -> (Running, u16, String) {
    let camera_url = camera(multipart(&scene()));
    let port = free_port();
    new_configs(dir, port, &camera_url);
    let server = server(dir, port);
    let mut hub = hub(dir);
    let line = hub.wait_for("that the clip was uploaded", |l| l.starts_with("uploaded "));
    let name = uploaded_name(&line);
    assert!(
        hub.printed()
            .contains(&format!("recorded {name}: 45 frames")),
        "{}",
        hub.printed()
    );
    drop(hub);
    (server, port, name)
}

/// `camhub-config` with `args`, run in `dir`: exit code, stdout, stderr.
fn config_tool(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_camhub-config"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn generated_configs_carry_a_clip_from_the_camera_to_the_viewer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (server, port, name) = one_clip_through(d);
    let hub_file: HubFile = read_json(&d.join("hub.json"));
    assert_eq!(hub_file.camera_id, "porch");
    assert_eq!(files(&d.join("clips/sent")), std::slice::from_ref(&name));
    assert!(files(&d.join("clips/pending")).is_empty());
    let sealed = fs::read(d.join("clips/sent").join(&name)).unwrap();

    // The viewer lists the clips with client.json alone...
    let (code, stdout, stderr) = config_tool(d, &["clips", "list", "--client", "client.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("{name}  {} bytes\n", sealed.len()));
    let (code, stdout, stderr) = config_tool(d, &["clips", "list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let listed: Vec<Listed> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        listed,
        [Listed {
            name: name.clone(),
            size: sealed.len() as u64
        }]
    );
    // ...downloads it byte for byte...
    let got = d.join("downloads");
    fs::create_dir(&got).unwrap();
    let (code, stdout, stderr) = config_tool(
        d,
        &[
            "clips",
            "get",
            &name,
            "--client",
            "client.json",
            "-o",
            "downloads",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!("wrote downloads/{name} ({} bytes)\n", sealed.len())
    );
    assert_eq!(fs::read(got.join(&name)).unwrap(), sealed);
    assert_eq!(
        files(&got),
        std::slice::from_ref(&name),
        "no work file left"
    );
    // ...and opens it with client.json's key: the frames around the motion.
    let downloaded = format!("downloads/{name}");
    let (code, _, stderr) = config_tool(
        d,
        &[
            "open-clip",
            "--client",
            "client.json",
            &downloaded,
            "--out",
            "clip.mjpeg",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        fs::read(d.join("clip.mjpeg")).unwrap(),
        scene()[2..=46].concat()
    );

    // A second download does not replace the first without --force (exit 2).
    let (code, _, stderr) = config_tool(d, &["clips", "get", &name, "-o", "downloads"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "downloads/{name}: already exists; nothing was downloaded. Pass --force"
        )),
        "{stderr}"
    );
    // A name the server does not have: exit 1, the URL, and where names come from.
    let (code, _, stderr) = config_tool(d, &["clips", "get", "clip-0.mjpeg"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "http://127.0.0.1:{port}/clips/porch/clip-0.mjpeg: the server answered 404"
        )) && stderr.contains("`camhub-config clips list --client client.json` shows the names"),
        "{stderr}"
    );
    assert!(!d.join("clip-0.mjpeg").exists());
    // A name that is not one never becomes a path or a request (exit 2).
    let (code, _, stderr) = config_tool(d, &["clips", "get", "../hub.json"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`../hub.json` is not a clip name"),
        "{stderr}"
    );

    // The camera's token does not view: the error says which file to fix.
    let client = fs::read_to_string(d.join("client.json")).unwrap();
    let client_file: ClientFile = read_json(&d.join("client.json"));
    fs::write(
        d.join("camera-as-client.json"),
        client.replace(&client_file.token, &hub_file.token),
    )
    .unwrap();
    let (code, _, stderr) = config_tool(d, &["clips", "list", "--client", "camera-as-client.json"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("the server answered 401")
            && stderr.contains("the server does not know camera-as-client.json's token"),
        "{stderr}"
    );
    let base = format!("http://127.0.0.1:{port}/clips/porch");
    assert_eq!(get(&base, &hub_file.token).0, 401);

    // With the server gone, the error names the URL and what to check.
    drop(server);
    let (code, _, stderr) = config_tool(d, &["clips", "list"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("http://127.0.0.1:{port}/clips/porch: "))
            && stderr.contains(
                "is camhub-server running and listening where `server_url` in client.json points?"
            ),
        "{stderr}"
    );
}

#[test]
fn a_clip_stored_before_a_crash_counts_as_sent_and_other_bytes_are_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (server, port, name) = one_clip_through(d);
    let stored = fs::read(d.join("data/porch").join(&name)).unwrap();
    // The hub crashed after the server stored the clip and before the clip
    // left pending/: the same bytes are back in the queue.
    fs::rename(
        d.join("clips/sent").join(&name),
        d.join("clips/pending").join(&name),
    )
    .unwrap();
    // The server also holds other bytes under a name the hub has a clip for
    // (an earlier hub with the same camera id, say).
    let hub_file: HubFile = read_json(&d.join("hub.json"));
    let other_name = "clip-1.mjpeg";
    let response = agent()
        .post(format!("http://127.0.0.1:{port}/clips/porch/{other_name}"))
        .header("Authorization", &format!("Bearer {}", hub_file.token))
        .send(&b"what the server already holds"[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let ours = stored[..stored.len() / 2].to_vec();
    fs::write(d.join("clips/pending").join(other_name), &ours).unwrap();

    let mut hub = hub(d);
    hub.wait_for("that the stored clip counts as sent", |l| {
        l == format!("uploaded {name} (already on the server)")
    });
    hub.wait_for("that the other clip was set aside", |l| {
        l.starts_with(&format!(
            "the server refused {other_name} for good; kept at"
        ))
    });
    drop(hub);
    assert!(files(&d.join("clips/pending")).is_empty());
    assert_eq!(fs::read(d.join("clips/sent").join(&name)).unwrap(), stored);
    assert_eq!(
        fs::read(d.join("clips/rejected").join(other_name)).unwrap(),
        ours
    );
    // The server's copies are as they were.
    assert_eq!(fs::read(d.join("data/porch").join(&name)).unwrap(), stored);
    assert_eq!(
        fs::read(d.join("data/porch").join(other_name)).unwrap(),
        b"what the server already holds"
    );
    drop(server);
}
