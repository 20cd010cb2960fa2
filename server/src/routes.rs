//! The HTTP routes. Every response is decided here; the handler never panics
//! on client input.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use hubcore::config::{ServerConfig, write_private_file};
use hubcore::is_safe_name;
use hubcore::secret::constant_time_eq;
use tiny_http::{Header, Method, Request, Response};

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn text(status: u16, body: &str) -> Reply {
    Response::from_string(format!("{body}\n")).with_status_code(status)
}

fn bearer(request: &Request) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(str::to_owned))
}

fn is_camera(config: &ServerConfig, camera: &str, token: Option<&str>) -> bool {
    match (config.cameras.get(camera), token) {
        (Some(expected), Some(given)) => constant_time_eq(expected.as_bytes(), given.as_bytes()),
        _ => false,
    }
}

fn is_client(config: &ServerConfig, token: Option<&str>) -> bool {
    token.is_some_and(|given| {
        // Check every client so the time taken does not say which one matched.
        config.clients.values().fold(false, |found, expected| {
            found | constant_time_eq(expected.as_bytes(), given.as_bytes())
        })
    })
}

pub fn handle(config: &ServerConfig, mut request: Request) {
    let method = request.method().clone();
    let url = request.url().to_owned();
    let reply = route(config, &mut request);
    let status = reply.status_code().0;
    let _ = request.respond(reply);
    let _ = writeln!(std::io::stdout().lock(), "{method} {url} {status}");
}

fn route(config: &ServerConfig, request: &mut Request) -> Reply {
    let url = request.url().to_owned();
    let parts: Vec<&str> = url.trim_start_matches('/').split('/').collect();
    let token = bearer(request);
    match (request.method(), parts.as_slice()) {
        (Method::Get, ["health"]) => text(200, "ok"),
        (Method::Post, ["clips", camera, name]) => {
            if !is_safe_name(camera) || !is_safe_name(name) {
                return text(
                    400,
                    "camera and clip names are letters, digits, '-', '_' and '.'",
                );
            }
            if !is_camera(config, camera, token.as_deref()) {
                return text(401, "a camera's upload token is required");
            }
            upload(config, request, camera, name)
        }
        (Method::Get, ["clips", camera]) => {
            if !is_client(config, token.as_deref()) {
                return text(401, "a viewing token is required");
            }
            if !is_safe_name(camera) {
                return text(400, "bad camera name");
            }
            list(&config.data_dir.join(camera))
        }
        (Method::Get, ["clips", camera, name]) => {
            if !is_client(config, token.as_deref()) {
                return text(401, "a viewing token is required");
            }
            if !is_safe_name(camera) || !is_safe_name(name) {
                return text(400, "bad camera or clip name");
            }
            match fs::read(config.data_dir.join(camera).join(name)) {
                Ok(bytes) => Response::from_data(bytes),
                Err(_) => text(404, "no such clip"),
            }
        }
        (_, ["health"] | ["clips", ..]) => text(405, "method not allowed"),
        _ => text(404, "not found"),
    }
}

fn upload(config: &ServerConfig, request: &mut Request, camera: &str, name: &str) -> Reply {
    let max = config.max_upload_bytes;
    if request.body_length().is_some_and(|n| n as u64 > max) {
        return text(413, &format!("a clip may be at most {max} bytes"));
    }
    // The declared length can be absent (chunked) or wrong: read at most one byte past the limit.
    let mut body = Vec::new();
    if request
        .as_reader()
        .take(max + 1)
        .read_to_end(&mut body)
        .is_err()
    {
        return text(400, "the upload was cut off");
    }
    if body.len() as u64 > max {
        return text(413, &format!("a clip may be at most {max} bytes"));
    }
    let dir = config.data_dir.join(camera);
    if let Err(e) = fs::create_dir_all(&dir) {
        return text(500, &format!("cannot store clips: {e}"));
    }
    let path = dir.join(name);
    if Path::new(&path).exists() {
        return text(409, "a clip with that name exists");
    }
    match write_private_file(&path, &body, false) {
        Ok(()) => text(201, "stored"),
        Err(_) if path.exists() => text(409, "a clip with that name exists"),
        Err(e) => text(500, &format!("cannot store the clip: {e:#}")),
    }
}

fn list(dir: &Path) -> Reply {
    let mut clips: Vec<(String, u64)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let meta = e.metadata().ok()?;
            (is_safe_name(&name) && meta.is_file()).then_some((name, meta.len()))
        })
        .collect();
    clips.sort();
    let json: Vec<_> = clips
        .iter()
        .map(|(name, size)| serde_json::json!({ "name": name, "size": size }))
        .collect();
    let header = Header::from_bytes("Content-Type", "application/json").expect("static header");
    Response::from_string(serde_json::Value::from(json).to_string()).with_header(header)
}
