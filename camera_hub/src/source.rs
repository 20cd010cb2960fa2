//! Where frames come from: a camera command's stdout (Raspberry Pi), or an
//! MJPEG-over-HTTP stream (IP camera).

use std::io::Read;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use hubcore::jpeg::FrameReader;

pub trait FrameSource {
    /// The next JPEG frame; `None` when the camera stopped.
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>>;
}

/// Runs a shell command that prints MJPEG on stdout, like
/// `rpicam-vid -t 0 --codec mjpeg -o -`.
pub struct CommandSource {
    child: Child,
    frames: FrameReader<std::process::ChildStdout>,
    command: String,
}

impl CommandSource {
    pub fn spawn(command: &str) -> Result<CommandSource> {
        let mut child = Command::new("sh")
            .args(["-c", command])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start the camera command `{command}`"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        Ok(CommandSource {
            child,
            frames: FrameReader::new(stdout),
            command: command.to_owned(),
        })
    }
}

impl FrameSource for CommandSource {
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>> {
        let frame = self
            .frames
            .next_frame()
            .context("reading the camera command's output")?;
        if frame.is_none() {
            let status = self.child.wait()?;
            if !status.success() {
                bail!(
                    "the camera command `{}` failed ({status}); check that the camera is connected and the command runs by hand",
                    self.command
                );
            }
        }
        Ok(frame)
    }
}

impl Drop for CommandSource {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads an IP camera's MJPEG stream (`multipart/x-mixed-replace`) over HTTP.
pub struct HttpSource {
    frames: FrameReader<Box<dyn Read + Send>>,
}

impl HttpSource {
    pub fn connect(url: &str) -> Result<HttpSource> {
        let response = ureq::get(url)
            .call()
            .with_context(|| format!("cannot open the camera stream at {url}"))?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !content_type.starts_with("multipart/") && !content_type.starts_with("image/jpeg") {
            bail!(
                "{url} serves `{content_type}`, not an MJPEG stream; point camera_url at the camera's MJPEG URL"
            );
        }
        // A live stream never ends on its own: no body size limit.
        let body = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        Ok(HttpSource {
            frames: FrameReader::new(Box::new(body)),
        })
    }
}

impl FrameSource for HttpSource {
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>> {
        self.frames
            .next_frame()
            .context("reading the camera stream")
    }
}
