//! Sending a sealed clip to the server, and what its answer means for the
//! clip: sent, refused for good (kept aside so it blocks nothing), or worth
//! trying again later.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use hubcore::config::HubConfig;
use ureq::Agent;

/// The header by which the server says what the clip it already holds
/// under a name hashes to (hex SHA-256 of the sealed bytes), on a 409. With
/// it, a clip uploaded before a crash (stored, but never moved to `sent/`)
/// is recognised as sent; without it the hub cannot tell and keeps the clip
/// aside in `rejected/`.
pub const STORED_SHA256_HEADER: &str = "x-clip-sha256";

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// A 409 whose stored clip is byte-identical (the server said so).
    AlreadyThere,
    /// The server will never take this clip (400, 409, 413, 422...).
    Refused(String),
    /// Nothing will get through now (network, timeout, 5xx, or a config the
    /// server does not accept: 401, 403, 404); try the queue again later.
    NotNow(String),
}

pub struct Uploader {
    agent: Agent,
    base: String,
    camera_id: String,
    token: String,
}

/// A pending entry opened for upload: the type is checked on the handle, so
/// a folder or FIFO named like a clip is skipped, never waited on.
pub fn open_clip(path: &Path) -> std::io::Result<Option<(File, u64)>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    Ok(meta.is_file().then_some((file, meta.len())))
}

impl Uploader {
    pub fn new(config: &HubConfig) -> Uploader {
        let timeout = Some(Duration::from_secs(config.upload.timeout_secs.max(1)));
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(timeout)
            .timeout_send_request(timeout)
            .timeout_per_write(timeout)
            .timeout_recv_response(timeout)
            .timeout_per_read(timeout)
            .build()
            .into();
        Uploader {
            agent,
            base: config.server_url.trim_end_matches('/').to_owned(),
            camera_id: config.camera_id.clone(),
            token: config.token.clone(),
        }
    }

    /// POST {server_url}/clips/{camera_id}/{name} with the upload token,
    /// streaming the body from `file` (opened from `path`).
    pub fn upload(&self, name: &str, file: File, path: &Path) -> Outcome {
        let url = format!("{}/clips/{}/{name}", self.base, self.camera_id);
        let response = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/octet-stream")
            .send(file);
        let mut response = match response {
            Ok(response) => response,
            Err(e) => return Outcome::NotNow(format!("{url}: {e}")),
        };
        let status = response.status().as_u16();
        let stored = response
            .headers()
            .get(STORED_SHA256_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        // The reply's text says why; a short one is enough.
        let reason = response
            .body_mut()
            .with_config()
            .limit(512)
            .read_to_string()
            .unwrap_or_default();
        let reason: String = reason
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let why = format!("{url}: {status} {reason}");
        match status {
            200..=299 => Outcome::Sent,
            409 if stored.is_some() && stored == sha256_of(path) => Outcome::AlreadyThere,
            409 => Outcome::Refused(format!(
                "{why} (the server did not say the stored clip is this one)"
            )),
            408 | 429 | 500..=599 | 401 | 403 | 404 | 405 => Outcome::NotNow(why),
            _ => Outcome::Refused(why),
        }
    }
}

fn sha256_of(path: &Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    let (mut file, _) = open_clip(path).ok()??;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}
