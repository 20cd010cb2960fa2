//! camhub-server's request handling on any bytes a client can send: the
//! connection layer's head check, hyper, the routes and the clip store,
//! exactly as a TCP connection drives them (`conn::connection`), over an
//! in-memory stream. The client sends the bytes, half-closes, and reads the
//! reply. The server must answer (or close) at once, never leave a temporary
//! file, and store a clip only when it says 201.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use server::config::{Settings, Viewer};
use server::{conn, routes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Seeds use these, so the fuzzer reaches uploads, lists and downloads.
const CAMERA_TOKEN: &str = "camera-token-0123456789";
const VIEWER_TOKEN: &str = "viewer-token-0123456789";
const EXISTING: &[u8] = b"sealed clip bytes";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// Every file under the data folder, as `camera/name`.
fn stored(data_dir: &Path) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for camera in std::fs::read_dir(data_dir)
        .expect("the data folder")
        .flatten()
    {
        for clip in std::fs::read_dir(camera.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            files.insert(format!(
                "{}/{}",
                camera.file_name().to_string_lossy(),
                clip.file_name().to_string_lossy()
            ));
        }
    }
    files
}

pub fn run(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data_dir = dir.path().to_owned();
    std::fs::create_dir(data_dir.join("cam")).expect("a camera folder");
    std::fs::write(data_dir.join("cam/old.clip"), EXISTING).expect("a stored clip");
    let before = stored(&data_dir);
    let state = Arc::new(routes::State {
        settings: Settings {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.clone(),
            max_upload_bytes: 256,
            cameras: BTreeMap::from([("cam".to_owned(), CAMERA_TOKEN.to_owned())]),
            viewers: vec![Viewer {
                token: VIEWER_TOKEN.to_owned(),
                cameras: BTreeSet::from(["cam".to_owned()]),
            }],
        },
        body_timeout: Duration::from_secs(5),
    });
    let limits = conn::Limits {
        max_connections: 1,
        header_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
    };
    let request = data.to_vec();
    let reply = runtime().block_on(async move {
        let (client, server_side) = tokio::io::duplex(64 << 10);
        let server = tokio::spawn(conn::connection(server_side, state, limits));
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let send = async move {
            // The server may refuse and close before reading everything.
            let _ = to_server.write_all(&request).await;
            let _ = to_server.shutdown().await;
        };
        let receive = async move {
            let mut reply = Vec::new();
            let _ = from_server.read_to_end(&mut reply).await;
            reply
        };
        let exchange = async { tokio::join!(send, receive, server) };
        let ((), reply, served) = tokio::time::timeout(Duration::from_secs(20), exchange)
            .await
            .expect("the server did not finish a request it was sent in full");
        served.expect("the connection task panicked");
        reply
    });
    let status = if reply.is_empty() {
        None
    } else {
        let line = reply
            .get(..12)
            .expect("a reply shorter than its status line");
        // hyper answers an HTTP/1.0 request in HTTP/1.0.
        assert!(
            line.starts_with(b"HTTP/1.1 ") || line.starts_with(b"HTTP/1.0 "),
            "not an HTTP reply: {reply:?}"
        );
        let code = std::str::from_utf8(&line[9..12]).expect("a status code");
        Some(code.parse::<u16>().expect("a status code"))
    };
    let after = stored(&data_dir);
    assert!(
        after.iter().all(|f| !f.contains("/.")),
        "a temporary file was left behind: {after:?}"
    );
    assert_eq!(
        std::fs::read(data_dir.join("cam/old.clip")).expect("the stored clip"),
        EXISTING
    );
    let added = after.difference(&before).count();
    match status {
        Some(201) => assert_eq!(added, 1, "201 but {after:?}"),
        _ => assert_eq!(
            added, 0,
            "stored a clip without 201 ({status:?}): {after:?}"
        ),
    }
    assert!(after.is_superset(&before));
}
