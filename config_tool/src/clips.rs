//! `camhub-config clips`: what a viewer does with client.json and no other
//! tool: list the camera's clips on the server and download one, sealed,
//! byte for byte (`open-clip` then decrypts it). The server is untrusted
//! here: every call has timeouts, every body a bound, every name it sends is
//! checked before it becomes a path and escaped before it reaches a terminal.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use hubcore::config::{self, ClientConfig};
use hubcore::{counted, is_safe_name};
use serde::{Deserialize, Serialize};
use ureq::Agent;

use crate::{Unusable, escape_control};

/// A clip list is a name and a size per clip; a year of clips every minute
/// fits well within this.
const MAX_LIST_BYTES: u64 = 64 << 20;

/// The most of an error reply shown: the server's reason is one line.
const MAX_REASON_BYTES: u64 = 512;

/// One entry of `GET /clips/<camera>`, as the server sends it and as
/// `clips list --json` prints it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Listed {
    pub name: String,
    pub size: u64,
}

/// The server as client.json describes it.
pub struct Server {
    agent: Agent,
    client_path: PathBuf,
    /// `server_url` without a trailing `/`, then `/clips/<camera>`.
    clips_url: String,
    token: String,
}

impl Server {
    /// Reads client.json; everything wrong in it is unusable input.
    pub fn from_client(client_path: &Path, timeout: Duration) -> Result<Server> {
        let client: ClientConfig = config::load(client_path).map_err(Unusable::from)?;
        let field = |name: &str, e: anyhow::Error| {
            Unusable::from(e.context(format!("{}: field `{name}`", client_path.display())))
        };
        hubcore::server_url::check(&client.server_url).map_err(|e| field("server_url", e))?;
        if !is_safe_name(&client.camera_id) {
            return Err(field(
                "camera_id",
                anyhow!(
                    "`{}` is not a camera name (letters, digits, '-', '_', '.'); write client.json again with `camhub-config new`",
                    escape_control(&client.camera_id)
                ),
            )
            .into());
        }
        // The token goes into a header: a character there would make the
        // request fail in a way that names no file.
        if client.token.is_empty() || !client.token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(field(
                "token",
                anyhow!(
                    "not a token (printable ASCII without spaces); write client.json again with `camhub-config new`"
                ),
            )
            .into());
        }
        let timeout = Some(timeout);
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(timeout)
            .timeout_send_request(timeout)
            .timeout_recv_response(timeout)
            .timeout_per_read(timeout)
            .build()
            .into();
        Ok(Server {
            agent,
            client_path: client_path.to_owned(),
            clips_url: format!(
                "{}/clips/{}",
                client.server_url.trim_end_matches('/'),
                client.camera_id
            ),
            token: client.token,
        })
    }

    /// GET `url` with the viewing token: the response if the server answered
    /// 200, else an error saying what the status means for the user.
    fn get(&self, url: &str, missing: &str) -> Result<ureq::http::Response<ureq::Body>> {
        let mut response = self
            .agent
            .get(url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .map_err(|e| {
                anyhow!(
                    "{url}: {e}; is camhub-server running and listening where `server_url` in {} points?",
                    self.client_path.display()
                )
            })?;
        let status = response.status().as_u16();
        if status == 200 {
            return Ok(response);
        }
        let reason = response
            .body_mut()
            .with_config()
            .limit(MAX_REASON_BYTES)
            .read_to_string()
            .unwrap_or_default();
        let reason = escape_control(reason.trim());
        let client = self.client_path.display();
        let fix = match status {
            401 => format!(
                "the server does not know {client}'s token: client.json and the server's server.json must come from the same `camhub-config new`"
            ),
            403 => format!(
                "{client}'s token does not cover this camera; in server.json give this client the camera"
            ),
            404 => missing.to_owned(),
            _ => "the server failed; see its log".to_owned(),
        };
        bail!("{url}: the server answered {status} {reason}: {fix}")
    }

    pub fn list(&self) -> Result<Vec<Listed>> {
        let url = &self.clips_url;
        let mut response = self.get(
            url,
            "the server has no clip list there; check `server_url` in client.json",
        )?;
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_LIST_BYTES)
            .read_to_vec()
            .with_context(|| format!("{url}: cannot read the clip list"))?;
        serde_json::from_slice(&body).with_context(|| {
            format!("{url}: the reply is not a clip list (a JSON array of {{name, size}})")
        })
    }

    /// Streams clip `name` into `file`, at most `limit` bytes; the bytes written.
    pub fn download(&self, name: &str, file: &mut fs::File, limit: u64) -> Result<u64> {
        let url = format!("{}/{name}", self.clips_url);
        let mut response = self.get(
            &url,
            &format!(
                "no clip `{name}` on the server; `camhub-config clips list --client {}` shows the names",
                self.client_path.display()
            ),
        )?;
        let mut body = response.body_mut().with_config().limit(limit).reader();
        let copied = io::copy(&mut body, file).map_err(|e| {
            anyhow!(
                "{url}: the download broke off or passed {} MiB ({e}); nothing was kept",
                limit >> 20
            )
        })?;
        Ok(copied)
    }
}

/// Prints the list: one clip a line (name, then size), or JSON; names the
/// server sent are escaped either way.
pub fn print_list(clips: &[Listed], json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        serde_json::to_writer(&mut *out, clips)?;
        writeln!(out)?;
        return Ok(());
    }
    for clip in clips {
        writeln!(
            out,
            "{}  {}",
            escape_control(&clip.name),
            counted(clip.size, "byte", "bytes")
        )?;
    }
    Ok(())
}

/// Where `clips get` writes: `out` if given (inside it, under the clip's
/// name, if it is a folder), else the clip's name in the current folder.
pub fn target(name: &str, out: Option<&Path>) -> PathBuf {
    match out {
        Some(dir) if dir.is_dir() => dir.join(name),
        Some(path) => path.to_owned(),
        None => PathBuf::from(name),
    }
}

/// Downloads clip `name` to `target`: into a hidden file beside it, synced,
/// then moved into place (replacing only with `force`), so a broken
/// download leaves nothing behind and an existing file is never half-written.
pub fn get(server: &Server, name: &str, target: &Path, force: bool, limit: u64) -> Result<u64> {
    if !is_safe_name(name) {
        return Err(Unusable::from(anyhow!(
            "`{}` is not a clip name (letters, digits, '-', '_', '.'); `camhub-config clips list` shows the names",
            escape_control(name)
        ))
        .into());
    }
    let exists = |path: &Path| {
        Unusable::from(anyhow!(
            "{}: already exists; nothing was downloaded. Pass --force to replace it, or -o to write elsewhere",
            path.display()
        ))
    };
    if !force && fs::symlink_metadata(target).is_ok() {
        return Err(exists(target).into());
    }
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut staged = tempfile::Builder::new()
        .prefix(".camhub-download-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a file here", dir.display()))?;
    let size = server.download(name, staged.as_file_mut(), limit)?;
    staged
        .as_file()
        .sync_all()
        .with_context(|| format!("{}: cannot write", target.display()))?;
    let placed = if force {
        staged.persist(target)
    } else {
        staged.persist_noclobber(target)
    };
    placed.map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            anyhow::Error::from(exists(target))
        } else {
            anyhow!("{}: cannot write: {}", target.display(), e.error)
        }
    })?;
    Ok(size)
}
