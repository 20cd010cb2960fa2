//! Clips on disk: `<data_dir>/<camera>/<clip>`. An upload is written to a
//! hidden temporary file beside its clip, synced, and renamed into place
//! only once the whole declared body has arrived, so a cut-off upload leaves
//! nothing a viewer or a later upload of the real clip could trip over.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_LENGTH, HeaderValue};
use hyper::{Request, Response};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::sync::Semaphore;

use crate::config::Settings;
use crate::routes::{Body, State, json, log_error, text};

/// Every temporary upload starts with this; clip names cannot start with a dot.
const TEMP_PREFIX: &str = ".camhub-";
/// On a 409: the lowercase hex SHA-256 of the clip stored under that name.
/// camera_hub (`upload::STORED_SHA256_HEADER`) reads it to tell a clip it
/// already uploaded from a different one.
const STORED_SHA256_HEADER: &str = "x-clip-sha256";
/// Stored clips hashed at once for 409s. Each hash reads up to
/// `max_upload_bytes`, so a burst of 409s (many uploads of one name) waits
/// here rather than taking every blocking thread and core.
static HASHING: Semaphore = Semaphore::const_new(2);

pub async fn upload(
    state: &State,
    request: Request<Incoming>,
    camera: &str,
    name: &str,
) -> Response<Body> {
    let max = state.settings.max_upload_bytes;
    let too_large = || text(413, &format!("a clip may be at most {max} bytes"));
    // The connection layer refused any other framing, so this is the one length, if any.
    let declared = match request.headers().get(CONTENT_LENGTH) {
        None => None,
        Some(value) => match value.to_str().ok().and_then(|v| v.parse::<u64>().ok()) {
            Some(length) => Some(length),
            None => return text(400, "Content-Length is not a number of bytes"),
        },
    };
    match declared {
        Some(0) => return text(400, "an empty clip is refused"),
        Some(length) if length > max => return too_large(),
        _ => {}
    }
    let dir = state.settings.data_dir.join(camera);
    let path = dir.join(name);
    if fs::symlink_metadata(&path).is_ok() {
        return exists(path, max).await;
    }
    let temp = match blocking(move || create_temp(&dir)).await {
        Ok(temp) => temp,
        Err(e) => return internal(&format!("cannot store a clip for `{camera}`: {e:#}")),
    };
    let mut file = match temp.as_file().try_clone() {
        Ok(file) => tokio::fs::File::from_std(file),
        Err(e) => return internal(&format!("cannot store a clip: {e}")),
    };
    let mut body = request.into_body();
    let deadline = tokio::time::Instant::now() + state.body_timeout;
    let mut received: u64 = 0;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return text(408, "the upload took too long; nothing was stored"),
            Ok(None) => break,
            // Hyper reports a body that ends before its Content-Length, or a
            // chunked body without its last chunk, as an error.
            Ok(Some(Err(_))) => return text(400, "the upload was cut off; nothing was stored"),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received = match received.checked_add(data.len() as u64) {
            Some(total) if total <= max => total,
            _ => return too_large(),
        };
        if let Err(e) = file.write_all(&data).await {
            return internal(&format!("cannot write a clip: {e}"));
        }
    }
    if declared.is_some_and(|length| length != received) {
        return text(400, "the upload was cut off; nothing was stored");
    }
    if received == 0 {
        return text(400, "an empty clip is refused");
    }
    if let Err(e) = file.flush().await {
        return internal(&format!("cannot write a clip: {e}"));
    }
    drop(file);
    let target = path.clone();
    match blocking(move || finish(temp, &target)).await {
        Ok(()) => text(201, "stored"),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => exists(path, max).await,
        Err(e) => internal(&format!("cannot store {}: {e}", path.display())),
    }
}

/// The 409 for a name already taken, with the stored clip's SHA-256: a hub
/// that crashed between an upload and marking the clip sent compares it with
/// its copy and knows the clip is safe here, rather than setting it aside as
/// refused. Without the header (the stored entry is not a regular file, or is
/// larger than any upload could be) the hub cannot tell and keeps its copy.
async fn exists(path: PathBuf, max: u64) -> Response<Body> {
    let mut response = text(409, "a clip with that name exists");
    let shown = path.display().to_string();
    // Never closed, so this only waits.
    let Ok(_hashing) = HASHING.acquire().await else {
        return response;
    };
    match blocking(move || stored_sha256(&path, max)).await {
        Ok(Some(hex)) => {
            if let Ok(value) = HeaderValue::from_str(&hex) {
                response.headers_mut().insert(STORED_SHA256_HEADER, value);
            }
        }
        Ok(None) => log_error(&format!(
            "{shown}: not a regular file of at most {max} bytes; answered 409 without its hash"
        )),
        Err(e) => log_error(&format!(
            "{shown}: cannot hash the stored clip ({e}); answered 409 without its hash"
        )),
    }
    response
}

/// The lowercase hex SHA-256 of the clip stored at `path`, read from one
/// handle that follows no symlink and does not wait on a FIFO; `None` if it
/// is not a regular file of at most `max` bytes.
fn stored_sha256(path: &Path, max: u64) -> io::Result<Option<String>> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > max {
        return Ok(None);
    }
    let mut hasher = Sha256::new();
    // Bounded even if the file grows while it is read.
    let read = io::copy(&mut file.take(max.saturating_add(1)), &mut hasher)?;
    if read > max {
        return Ok(None);
    }
    Ok(Some(
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    ))
}

fn create_temp(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    fs::create_dir_all(dir)?;
    let temp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}upload-"))
        .tempfile_in(dir)?;
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(temp)
}

/// Syncs the data, then links it under its name (refusing an existing clip, so
/// two uploads racing for one name cannot replace each other), then syncs the folder.
fn finish(temp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    temp.as_file().sync_all()?;
    temp.persist_noclobber(path).map_err(|e| e.error)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

/// The detail, which names server paths, goes to the log only.
fn internal(detail: &str) -> Response<Body> {
    log_error(detail);
    text(500, "the server could not do that; its log says why")
}

pub async fn list(settings: &Settings, camera: &str) -> Response<Body> {
    let dir = settings.data_dir.join(camera);
    let clips = blocking(move || Ok(list_clips(&dir)))
        .await
        .unwrap_or_default();
    let json_clips: Vec<_> = clips
        .iter()
        .map(|(name, size)| serde_json::json!({ "name": name, "size": size }))
        .collect();
    json(&serde_json::Value::from(json_clips))
}

fn list_clips(dir: &Path) -> Vec<(String, u64)> {
    let mut clips: Vec<(String, u64)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let meta = e.metadata().ok()?;
            (hubcore::is_safe_name(&name) && meta.is_file()).then_some((name, meta.len()))
        })
        .collect();
    clips.sort();
    clips
}

pub async fn download(settings: &Settings, camera: &str, name: &str) -> Response<Body> {
    let path = settings.data_dir.join(camera).join(name);
    let opened = blocking(move || {
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        Ok((file, meta.len()))
    })
    .await;
    match opened {
        Ok((file, size)) => Response::new(
            FileBody {
                file: tokio::fs::File::from_std(file),
                remaining: size,
                chunk: vec![0; 64 * 1024],
            }
            .boxed(),
        ),
        Err(_) => text(404, "no such clip"),
    }
}

/// A clip streamed from disk: a download holds 64 KiB, not the clip.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    chunk: Vec<u8>,
}

impl HttpBody for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = this
            .chunk
            .len()
            .min(usize::try_from(this.remaining).unwrap_or(usize::MAX));
        let mut buf = ReadBuf::new(&mut this.chunk[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the clip shrank while being sent",
                ))))
            }
            Poll::Ready(Ok(())) => {
                let data = Bytes::copy_from_slice(buf.filled());
                this.remaining -= data.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Removes the temporary files of uploads a `kill -9` or power cut interrupted.
/// Clip names never start with a dot, so nothing else carries the prefix.
pub fn remove_unfinished_uploads(data_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for camera in fs::read_dir(data_dir)? {
        let camera = camera?;
        if !camera.file_type()?.is_dir() {
            continue;
        }
        for entry in fs::read_dir(camera.path())? {
            let entry = entry?;
            let is_temp = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TEMP_PREFIX));
            if is_temp && entry.file_type()?.is_file() {
                fs::remove_file(entry.path())?;
                removed.push(entry.path());
            }
        }
    }
    Ok(removed)
}
