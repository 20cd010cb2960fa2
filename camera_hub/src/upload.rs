//! Sending a sealed clip to the server.

use anyhow::{Context, Result};
use hubcore::config::HubConfig;

/// POST {server_url}/clips/{camera_id}/{name} with the upload token.
pub fn upload(config: &HubConfig, name: &str, sealed: &[u8]) -> Result<()> {
    let url = format!(
        "{}/clips/{}/{name}",
        config.server_url.trim_end_matches('/'),
        config.camera_id
    );
    ureq::post(&url)
        .header("Authorization", &format!("Bearer {}", config.token))
        .header("Content-Type", "application/octet-stream")
        .send(sealed)
        .with_context(|| format!("uploading {name} to {url}"))?;
    Ok(())
}
