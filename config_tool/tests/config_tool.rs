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
        "wrote ./hub.json\nwrote ./server.json\nwrote ./client.json\ncopy hub.json to the camera hub, server.json to the server; keep client.json private\n"
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
    assert_eq!(again.status.code(), Some(1));
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
