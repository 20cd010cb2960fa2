//! The HTTP routes. Every response is decided here; the handler never panics
//! on client input, and refuses a request before reading its body.

use std::io::Write;
use std::time::Duration;

use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hubcore::is_safe_name;
use hubcore::secret::constant_time_eq;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::config::Settings;
use crate::store;

pub type Body = BoxBody<Bytes, std::io::Error>;

pub struct State {
    pub settings: Settings,
    /// The whole upload body must arrive within this.
    pub body_timeout: Duration,
}

pub fn text(status: u16, body: &str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(format!("{body}\n")))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
}

pub fn json(value: &serde_json::Value) -> Response<Body> {
    let mut response = text(200, &value.to_string());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Request data in the log is escaped, so a request cannot forge log lines or
/// send terminal escapes to whoever reads the log.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_control() || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn log_request(method: &str, path: &str, status: u16) {
    let _ = writeln!(
        std::io::stdout().lock(),
        "{} {} {status}",
        escape(method),
        escape(path)
    );
}

/// Server-side detail (paths, OS errors) goes to the log, never in a reply.
pub fn log_error(message: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "camhub-server: {}",
        escape(message)
    );
}

fn bearer(request: &Request<Incoming>) -> Option<&str> {
    request
        .headers()
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn is_camera(settings: &Settings, camera: &str, token: Option<&str>) -> bool {
    match (settings.cameras.get(camera), token) {
        (Some(expected), Some(given)) => constant_time_eq(expected.as_bytes(), given.as_bytes()),
        _ => false,
    }
}

enum Viewing {
    Allowed,
    /// A valid viewing token, but not for this camera.
    OtherCamera,
    Unknown,
}

fn viewing(settings: &Settings, camera: &str, token: Option<&str>) -> Viewing {
    let Some(given) = token else {
        return Viewing::Unknown;
    };
    // Check every viewer so the time taken does not say which one matched.
    let matched = settings.viewers.iter().fold(None, |found, viewer| {
        let same = constant_time_eq(viewer.token.as_bytes(), given.as_bytes());
        if same { Some(viewer) } else { found }
    });
    match matched {
        Some(viewer) if viewer.cameras.contains(camera) => Viewing::Allowed,
        Some(_) => Viewing::OtherCamera,
        None => Viewing::Unknown,
    }
}

pub async fn handle(state: &State, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = route(state, request).await;
    log_request(method.as_str(), &path, response.status().as_u16());
    if !response.status().is_success() {
        // A refused body stays unread; the connection ends with the reply.
        response
            .headers_mut()
            .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn route(state: &State, request: Request<Incoming>) -> Response<Body> {
    let settings = &state.settings;
    let path = request.uri().path().to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let token = bearer(&request);
    match (request.method(), parts.as_slice()) {
        (&Method::GET, ["health"]) => text(200, "ok"),
        (&Method::POST, ["clips", camera, name]) => {
            if !is_safe_name(camera) || !is_safe_name(name) {
                return text(
                    400,
                    "camera and clip names are letters, digits, '-', '_' and '.'",
                );
            }
            if !is_camera(settings, camera, token) {
                return text(401, "a camera's upload token is required");
            }
            let (camera, name) = (camera.to_string(), name.to_string());
            store::upload(state, request, &camera, &name).await
        }
        (&Method::GET, ["clips", camera] | ["clips", camera, _]) => {
            match viewing(settings, camera, token) {
                Viewing::Unknown => return text(401, "a viewing token is required"),
                Viewing::OtherCamera => {
                    return text(403, "this viewing token does not cover that camera");
                }
                Viewing::Allowed => {}
            }
            match parts.as_slice() {
                [_, camera] => store::list(settings, camera).await,
                [_, camera, name] if is_safe_name(name) => {
                    store::download(settings, camera, name).await
                }
                _ => text(400, "bad clip name"),
            }
        }
        (_, ["health"] | ["clips", ..]) => text(405, "method not allowed"),
        _ => text(404, "not found"),
    }
}
