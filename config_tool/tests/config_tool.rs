use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use hubcore::config::{ClientConfig, HubConfig, ServerConfig, load};

fn tool(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_config_tool"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn new(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "new",
        "--server-url",
        "https://clips.example.org",
        "--camera-id",
        "porch",
    ];
    args.extend(extra);
    tool(&args, dir)
}

#[test]
fn writes_three_matching_private_configs() {
    let dir = tempfile::tempdir().unwrap();
    let out = new(dir.path(), &["--camera-url", "http://192.0.2.7/video.mjpg"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "wrote ./hub.json\nwrote ./server.json\nwrote ./client.json\n\
         hubs and clients reach the server at https://clips.example.org; server.json listens on 127.0.0.1:8080\n\
         note: camhub-server speaks plain HTTP, not TLS: put a reverse proxy in front that forwards https://clips.example.org to http://127.0.0.1:8080\n\
         copy hub.json to the camera hub, server.json to the server; keep client.json private\n"
    );
    let hub: HubConfig = load(&dir.path().join("hub.json")).unwrap();
    let server: ServerConfig = load(&dir.path().join("server.json")).unwrap();
    let client: ClientConfig = load(&dir.path().join("client.json")).unwrap();
    assert_eq!(server.cameras["porch"], hub.token);
    assert_eq!(server.clients["viewer"], client.token);
    assert_eq!(hub.key, client.key);
    assert_eq!(
        hub.camera_url.as_deref(),
        Some("http://192.0.2.7/video.mjpg")
    );
    assert_eq!(server.listen, "127.0.0.1:8080");
    let secrets = [&hub.token, &client.token, &hub.key];
    for s in secrets {
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert!(hub.token != client.token && hub.token != hub.key && client.token != hub.key);
    assert!(
        !fs::read_to_string(dir.path().join("server.json"))
            .unwrap()
            .contains(&hub.key),
        "the server never gets the key"
    );
    for f in ["hub.json", "server.json", "client.json"] {
        assert_eq!(
            fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600,
            "{f}"
        );
    }
}

#[test]
fn never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    assert!(new(dir.path(), &[]).status.success());
    let before = fs::read(dir.path().join("hub.json")).unwrap();
    let again = new(dir.path(), &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("already exist(s); nothing was written. Pass --force")
    );
    assert_eq!(fs::read(dir.path().join("hub.json")).unwrap(), before);
    assert!(new(dir.path(), &["--force"]).status.success());
    assert_ne!(fs::read(dir.path().join("hub.json")).unwrap(), before);
}

#[test]
fn bad_names_and_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = tool(
        &["new", "--server-url", "ftp://x", "--camera-id", "porch"],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with https://"));
    let out = tool(
        &[
            "new",
            "--server-url",
            "https://x",
            "--camera-id",
            "../porch",
        ],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("camera id `../porch` must be"));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn prints_a_pairing_qr_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = new(dir.path(), &["--qr"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains('█') && text.contains('▀'), "{text}");
    let qr = tool(&["qr", "client.json"], dir.path());
    let qr_text = String::from_utf8(qr.stdout).unwrap();
    assert!(text.ends_with(&qr_text), "the same code from the file");
    assert!(qr_text.lines().count() > 20);
}

#[test]
fn opens_a_clip_sealed_by_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    assert!(new(dir.path(), &[]).status.success());
    let hub: HubConfig = load(&dir.path().join("hub.json")).unwrap();
    let key = hubcore::secret::key_from_hex(&hub.key).unwrap();
    let sealed = hubcore::clip::seal(&key, "porch", "clip-1.mjpeg", b"mjpeg bytes").unwrap();
    fs::write(dir.path().join("clip-1.mjpeg"), &sealed).unwrap();
    let out = tool(
        &["open-clip", "clip-1.mjpeg", "-o", "plain.mjpeg"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(dir.path().join("plain.mjpeg")).unwrap(),
        b"mjpeg bytes"
    );
    // Renamed, it no longer opens: the name is bound to the clip.
    fs::write(dir.path().join("clip-2.mjpeg"), &sealed).unwrap();
    let out = tool(
        &["open-clip", "clip-2.mjpeg", "-o", "other.mjpeg"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not open with this key"));
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .map(|n| {
            let bytes = fs::read(dir.join(&n)).unwrap_or_default();
            (n, bytes)
        })
        .collect()
}

#[test]
fn force_writes_all_files_or_none() {
    let dir = tempfile::tempdir().unwrap();
    assert!(new(dir.path(), &[]).status.success());
    // server.json cannot be replaced: nothing may be, or hub and client
    // would hold keys from different runs.
    fs::remove_file(dir.path().join("server.json")).unwrap();
    fs::create_dir(dir.path().join("server.json")).unwrap();
    let before = contents(dir.path());
    let out = new(dir.path(), &["--force"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("./server.json: is a folder; nothing was written"),
        "{stderr}"
    );
    assert_eq!(contents(dir.path()), before);
}

#[path = "../../tests/rename_fault.rs"]
mod rename_fault;
use rename_fault::rename_fault;

#[test]
fn a_write_failing_midway_puts_back_the_files_already_replaced() {
    let faults = tempfile::tempdir().unwrap();
    let lib = rename_fault(faults.path());
    let dir = tempfile::tempdir().unwrap();
    assert!(new(dir.path(), &[]).status.success());
    let before = contents(dir.path());
    for fail in ["server.json", "client.json"] {
        let out = Command::new(env!("CARGO_BIN_EXE_config_tool"))
            .args([
                "new",
                "--server-url",
                "https://x",
                "--camera-id",
                "porch",
                "--force",
            ])
            .current_dir(dir.path())
            .env("LD_PRELOAD", &lib)
            .env("FAIL_RENAME_TO", fail)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains(&format!(
                "./{fail}: cannot write; nothing was written (all files are as before)"
            )),
            "{stderr}"
        );
        assert_eq!(contents(dir.path()), before, "after a failed {fail}");
    }
}

#[test]
fn a_dangling_symlink_counts_as_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("absent-target", dir.path().join("client.json")).unwrap();
    let out = new(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("./client.json already exist(s); nothing was written. Pass --force"),
        "{stderr}"
    );
    assert_eq!(listing(dir.path()), ["client.json"]);
    assert!(new(dir.path(), &["--force"]).status.success());
    assert_eq!(
        listing(dir.path()),
        ["client.json", "hub.json", "server.json"]
    );
    assert!(
        fs::symlink_metadata(dir.path().join("client.json"))
            .unwrap()
            .is_file()
    );
    assert!(!dir.path().join("absent-target").exists());
}

#[test]
fn server_urls_without_a_host_or_with_control_characters_are_refused() {
    for (url, says) in [
        ("http://", "names no host"),
        ("https://", "names no host"),
        ("https://clips.example.org\n", "holds the character \\n"),
        (
            "https://clips.example.org/\x1b[2J",
            "holds the character \\u{1b}",
        ),
        ("https://clips.example.org/a b", "holds the character  "),
        ("https://token@clips.example.org", "user name or password"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = tool(
            &["new", "--server-url", url, "--camera-id", "porch"],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "{url:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("--server-url: server URL"), "{stderr}");
        assert!(stderr.contains(says), "{url:?}: {stderr}");
        assert!(
            !stderr.contains('\x1b') && stderr.lines().count() == 1,
            "{stderr:?}"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

/// Runs the tool, killing it after 10 s: a hang is a failure, not a stuck test.
fn tool_bounded(args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_config_tool"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("camhub-config {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn open_clip_replaces_its_output_only_with_force_and_refuses_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(new(d, &[]).status.success());
    let hub: HubConfig = load(&d.join("hub.json")).unwrap();
    let key = hubcore::secret::key_from_hex(&hub.key).unwrap();
    let sealed = hubcore::clip::seal(&key, "porch", "clip-1.mjpeg", b"mjpeg bytes").unwrap();
    fs::write(d.join("clip-1.mjpeg"), &sealed).unwrap();
    fs::write(d.join("plain.mjpeg"), b"earlier").unwrap();
    let out = tool(&["open-clip", "clip-1.mjpeg", "-o", "plain.mjpeg"], d);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("plain.mjpeg already exist(s); nothing was written. Pass --force"),
        "{stderr}"
    );
    assert_eq!(fs::read(d.join("plain.mjpeg")).unwrap(), b"earlier");
    // The hint is one the command takes.
    let out = tool(
        &["open-clip", "clip-1.mjpeg", "-o", "plain.mjpeg", "--force"],
        d,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read(d.join("plain.mjpeg")).unwrap(), b"mjpeg bytes");

    assert!(
        Command::new("mkfifo")
            .arg(d.join("clip-2.mjpeg"))
            .status()
            .unwrap()
            .success()
    );
    let out = tool_bounded(&["open-clip", "clip-2.mjpeg", "-o", "two.mjpeg"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clip-2.mjpeg: not a regular file"));
}

#[test]
fn a_client_config_that_is_a_fifo_or_a_device_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(
        Command::new("mkfifo")
            .arg(d.join("client.json"))
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.json")).unwrap();
    for client in ["client.json", "zero.json"] {
        let out = tool_bounded(&["qr", client], d);
        assert_eq!(out.status.code(), Some(2), "{client}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "{client}: not a regular file; give the path of the config file itself"
            )),
            "{client}: {stderr}"
        );
    }
}

#[path = "../../tests/help_text.rs"]
mod help_text;

#[test]
fn server_json_listens_where_the_url_points() {
    for (url, listen, note) in [
        ("http://127.0.0.1:8088", "127.0.0.1:8088", None),
        ("http://localhost:9000", "127.0.0.1:9000", None),
        ("http://[::1]:8089/", "[::1]:8089", None),
        (
            "http://cams.example.org:8088",
            "0.0.0.0:8088",
            Some(
                "note: 0.0.0.0:8088 is every interface, so hubs and clients can reach the server as cams.example.org; tokens and sealed clips cross the network unencrypted",
            ),
        ),
        (
            "https://clips.example.org",
            "127.0.0.1:8080",
            Some(
                "note: camhub-server speaks plain HTTP, not TLS: put a reverse proxy in front that forwards https://clips.example.org to http://127.0.0.1:8080\n",
            ),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = tool(
            &["new", "--server-url", url, "--camera-id", "porch"],
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let server: ServerConfig = load(&dir.path().join("server.json")).unwrap();
        assert_eq!(server.listen, listen, "{url}");
        let hub: HubConfig = load(&dir.path().join("hub.json")).unwrap();
        let client: ClientConfig = load(&dir.path().join("client.json")).unwrap();
        assert_eq!(
            (hub.server_url.as_str(), client.server_url.as_str()),
            (url, url)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.contains(&format!(
                "hubs and clients reach the server at {url}; server.json listens on {listen}\n"
            )),
            "{stdout}"
        );
        match note {
            Some(note) => assert!(stdout.contains(note), "{url}: {stdout}"),
            None => assert!(!stdout.contains("note:"), "{url}: {stdout}"),
        }
    }
}

#[test]
fn listen_overrides_the_derived_address_and_must_be_host_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let out = new(dir.path(), &["--listen", "192.168.1.5:8088"]);
    assert!(out.status.success());
    let server: ServerConfig = load(&dir.path().join("server.json")).unwrap();
    assert_eq!(server.listen, "192.168.1.5:8088");
    for bad in ["8088", "host:", ":8088", "h:99999"] {
        let dir = tempfile::tempdir().unwrap();
        let out = new(dir.path(), &["--listen", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!(
                "--listen `{bad}` must be host:port, e.g. 127.0.0.1:8088"
            )),
            "{bad}"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

/// A server on 127.0.0.1 that answers every request with `reply` (or, if
/// None, reads the request and never answers), for what the real server
/// never sends. Its URL.
fn fake_server(reply: Option<Vec<u8>>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = BufReader::new(&stream);
            let mut line = String::new();
            while head.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            if let Some(reply) = &reply {
                let _ = stream.write_all(reply);
            }
            held.push(stream);
        }
    });
    url
}

fn client_for(dir: &Path, url: &str) {
    let out = tool(
        &[
            "new",
            "--server-url",
            url,
            "--camera-id",
            "porch",
            "--force",
        ],
        dir,
    );
    assert!(out.status.success());
}

#[test]
fn clip_names_from_the_server_are_escaped_and_a_silent_server_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list =
        r#"[{"name":"clip-\u001b[2J\u0007.mjpeg","size":1},{"name":"clip-2.mjpeg","size":2}]"#;
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{list}",
        list.len()
    );
    client_for(d, &fake_server(Some(reply.into_bytes())));
    let out = tool_bounded(&["clips", "list"], d);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "clip-\\u{1b}[2J\\u{7}.mjpeg  1 byte\nclip-2.mjpeg  2 bytes\n"
    );
    // A name that would be a path is never requested nor written.
    let out = tool_bounded(&["clips", "get", "clip-\x1b[2J.mjpeg"], d);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`clip-\\u{1b}[2J.mjpeg` is not a clip name") && !stderr.contains('\x1b'),
        "{stderr:?}"
    );

    // A server that takes the request and never answers: --timeout ends it.
    client_for(d, &fake_server(None));
    for args in [&["clips", "list"][..], &["clips", "get", "clip-1.mjpeg"]] {
        let started = std::time::Instant::now();
        let out = tool_bounded(&[args, &["--timeout", "1s"]].concat(), d);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(8));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("/clips/porch") && stderr.contains("is camhub-server running"),
            "{stderr}"
        );
    }
    assert!(!d.join("clip-1.mjpeg").exists());
    assert_eq!(
        listing(d),
        ["client.json", "hub.json", "server.json"],
        "no work file left"
    );
}

#[test]
fn a_client_config_with_a_bad_server_url_or_camera_is_unusable_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(new(d, &[]).status.success());
    let client = fs::read_to_string(d.join("client.json")).unwrap();
    fs::write(
        d.join("client.json"),
        client.replace("\"porch\"", "\"../porch\""),
    )
    .unwrap();
    let out = tool(&["clips", "list"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("client.json: field `camera_id`: `../porch` is not a camera name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tool(&["clips", "list", "--client", "absent.json"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("absent.json: cannot read the config file")
    );
}

#[test]
fn every_command_and_argument_is_described_and_required_ones_are_shown() {
    let bin = env!("CARGO_BIN_EXE_config_tool");
    let top = help_text::check(bin, &[], "camhub-config", &["<COMMAND>"]);
    for command in ["new", "clips", "qr", "open-clip"] {
        assert!(top.contains(&format!("  {command} ")), "{top}");
    }
    help_text::check(
        bin,
        &["new"],
        "camhub-config new",
        &["--server-url <SERVER_URL>", "--camera-id <CAMERA_ID>"],
    );
    help_text::check(bin, &["clips"], "camhub-config clips", &["<COMMAND>"]);
    help_text::check(bin, &["clips", "list"], "camhub-config clips list", &[]);
    help_text::check(
        bin,
        &["clips", "get"],
        "camhub-config clips get",
        &["<NAME>"],
    );
    help_text::check(bin, &["qr"], "camhub-config qr", &["<CLIENT>"]);
    help_text::check(
        bin,
        &["open-clip"],
        "camhub-config open-clip",
        &["--out <OUT>", "<CLIP>"],
    );
    let long = Command::new(bin).arg("--help").output().unwrap();
    let long = String::from_utf8(long.stdout).unwrap();
    assert!(
        long.contains("Exit codes: 0 done; 1 failed:") && long.contains("2 unusable input"),
        "{long}"
    );
}

#[test]
fn a_camera_command_goes_into_hub_json_and_excludes_a_camera_url() {
    let dir = tempfile::tempdir().unwrap();
    let out = new(dir.path(), &["--camera-command", "cat scene.mjpeg"]);
    assert!(out.status.success());
    let hub: HubConfig = load(&dir.path().join("hub.json")).unwrap();
    assert_eq!(hub.camera_command.as_deref(), Some("cat scene.mjpeg"));
    assert_eq!(hub.camera_url, None);
    let dir = tempfile::tempdir().unwrap();
    let out = new(
        dir.path(),
        &[
            "--camera-command",
            "cat x",
            "--camera-url",
            "http://192.0.2.7/v",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}
