//! The three config files `camhub-config new` writes: one for a hub, one for
//! the server, one for a viewing client. JSON, with unknown fields refused so
//! a typo is an error rather than a silently ignored setting. Relative paths
//! in a config are relative to the folder of the config file.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What the Raspberry Pi hub runs when its config names no camera command:
/// MJPEG on stdout, forever.
pub const DEFAULT_CAMERA_COMMAND: &str = "rpicam-vid -t 0 --codec mjpeg -o -";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    pub camera_id: String,
    pub server_url: String,
    /// Authenticates uploads to the server.
    pub token: String,
    /// 64 hex digits: the ChaCha20-Poly1305 key clips are sealed with.
    pub key: String,
    /// Where sealed clips wait for upload (`pending/`) and are kept after (`sent/`).
    pub clip_dir: PathBuf,
    /// Raspberry Pi source: a shell command printing MJPEG on stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_command: Option<String>,
    /// IP camera source: the URL of its MJPEG-over-HTTP stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_url: Option<String>,
    #[serde(default)]
    pub motion: MotionConfig,
    #[serde(default)]
    pub upload: UploadConfig,
    /// IP camera source: how long to wait for the stream and how to reconnect.
    #[serde(default)]
    pub stream: StreamConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadConfig {
    /// The longest wait for connecting and for each read or write of an upload.
    pub timeout_secs: u64,
    /// How often clips waiting in `pending/` are tried again while the camera runs.
    pub retry_secs: u64,
    /// A clip is split before its sealed size would pass this; it must stay
    /// below the server's `max_upload_bytes` (64 MiB by default).
    pub max_clip_bytes: u64,
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            timeout_secs: 30,
            retry_secs: 60,
            max_clip_bytes: 48 << 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// A stream that sends nothing for this long is dropped and reconnected.
    pub read_timeout_secs: u64,
    /// Connection attempts in a row (with a doubling wait between them)
    /// before the hub gives up and exits with an error.
    pub reconnect_attempts: u32,
    /// The longest wait between two attempts.
    pub max_backoff_secs: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            read_timeout_secs: 10,
            reconnect_attempts: 10,
            max_backoff_secs: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MotionConfig {
    /// A cell changed when its mean brightness moved by more than this (0-255).
    pub cell_threshold: u8,
    /// Motion when more than this fraction of cells changed.
    pub min_changed_fraction: f32,
    /// Frames kept from before the motion started.
    pub pre_frames: usize,
    /// Still frames after which a clip ends.
    pub post_frames: usize,
    /// The longest clip, in frames.
    pub max_frames: usize,
    /// Frames declaring more pixels than this (width × height) are skipped
    /// without being decoded.
    pub max_frame_pixels: u64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            cell_threshold: 24,
            min_changed_fraction: 0.02,
            pre_frames: 10,
            post_frames: 30,
            max_frames: 900,
            max_frame_pixels: 4096 * 4096,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// host:port; loopback by default, so exposing it is a deliberate choice.
    #[serde(default = "default_listen")]
    pub listen: String,
    pub data_dir: PathBuf,
    #[serde(default = "default_max_upload")]
    pub max_upload_bytes: u64,
    /// Camera id → upload token.
    pub cameras: BTreeMap<String, String>,
    /// Client name → viewing token.
    pub clients: BTreeMap<String, String>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_max_upload() -> u64 {
    64 << 20
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub server_url: String,
    pub camera_id: String,
    pub token: String,
    pub key: String,
}

/// A config file is a few hundred bytes; anything near this is not one.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a config file; errors name the file and what is wrong in it.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let (text, _) = read_text(path)?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid config file", path.display()))
}

/// The text of a config file and its metadata, from one handle: opened
/// without waiting for a writer (a FIFO would block the open itself),
/// checked to be a regular file on that handle (a FIFO or `/dev/zero`
/// would never end), and read up to [`MAX_CONFIG_BYTES`].
pub fn read_text(path: &Path) -> Result<(String, fs::Metadata)> {
    let shown = path.display();
    let cannot_read = || format!("{shown}: cannot read the config file");
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .with_context(cannot_read)?;
    let meta = file.metadata().with_context(cannot_read)?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file; give the path of the config file itself");
    }
    let too_large = || {
        anyhow::anyhow!(
            "{shown}: larger than {} KiB, too large for a config file; give the path of the config file itself",
            MAX_CONFIG_BYTES >> 10
        )
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let mut text = String::new();
    // Bounded even if the file grows between the check and the read.
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(cannot_read)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    Ok((text, meta))
}

/// Resolves a path from a config file against the config file's folder.
pub fn relative_to(config_path: &Path, path: &Path) -> PathBuf {
    match config_path.parent() {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_owned(),
    }
}

/// Writes a private file (secrets, sealed clips) (mode 0600) through a temporary file and a
/// rename. Refuses to replace an existing file unless `overwrite`.
pub fn write_private_file(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    if !overwrite && fs::symlink_metadata(path).is_ok() {
        bail!(
            "{}: already exists; pass --force to replace it",
            path.display()
        );
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".camhub-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a file here", dir.display()))?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o600))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // Without overwrite, the final rename itself refuses an existing file, so
    // two writers racing for one name cannot replace each other's file.
    let persisted = if overwrite {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted
        .map_err(|e| e.error)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// A config as pretty JSON with a final newline.
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(value).expect("configs serialise");
    text.push(b'\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_errors_that_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.json");
        fs::write(&path, r#"{"camera_id":"c","server_url":"u","token":"t","key":"k","clip_dir":"clips","motoin":{}}"#)
            .unwrap();
        let err = format!("{:#}", load::<HubConfig>(&path).unwrap_err());
        assert!(
            err.contains("hub.json: not a valid config file: unknown field `motoin`"),
            "{err}"
        );
    }

    #[test]
    fn private_files_are_private_and_not_overwritten_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        write_private_file(&path, b"one", false).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let err = write_private_file(&path, b"two", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("already exists; pass --force"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_private_file(&path, b"two", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            relative_to(&path, Path::new("clips")),
            dir.path().join("clips")
        );
        assert_eq!(relative_to(&path, Path::new("/abs")), PathBuf::from("/abs"));
    }
}
