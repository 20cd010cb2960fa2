//! Where frames come from: a camera command's stdout (Raspberry Pi), or an
//! MJPEG-over-HTTP stream (IP camera).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hubcore::config::StreamConfig;
use hubcore::jpeg::FrameReader;
use ureq::Agent;

use crate::pipeline::say;

pub trait FrameSource {
    /// The next JPEG frame; `None` when the camera stopped.
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>>;
    /// Malformed or cut-off frames skipped so far.
    fn skipped(&self) -> usize;
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

    fn skipped(&self) -> usize {
        self.frames.skipped()
    }
}

impl Drop for CommandSource {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads an IP camera's MJPEG stream (`multipart/x-mixed-replace`) over
/// HTTP. A stream that ends, fails or goes silent for
/// `stream.read_timeout_secs` is reconnected, waiting 1, 2, 4... seconds (at
/// most `stream.max_backoff_secs`) between attempts; after
/// `stream.reconnect_attempts` failures in a row it gives up with an error.
pub struct HttpSource {
    url: String,
    agent: Agent,
    config: StreamConfig,
    frames: Option<FrameReader<Box<dyn Read + Send>>>,
    /// Skipped by readers of earlier connections.
    skipped_before: usize,
    failures: u32,
}

impl HttpSource {
    /// Connects once; a URL that is not an MJPEG stream is an error at once.
    pub fn connect(url: &str, config: &StreamConfig) -> Result<HttpSource> {
        let timeout = Some(Duration::from_secs(config.read_timeout_secs.max(1)));
        let agent: Agent = Agent::config_builder()
            .timeout_connect(timeout)
            .timeout_send_request(timeout)
            .timeout_recv_response(timeout)
            .timeout_per_read(timeout)
            .build()
            .into();
        let mut source = HttpSource {
            url: url.to_owned(),
            agent,
            config: config.clone(),
            frames: None,
            skipped_before: 0,
            failures: 0,
        };
        source.frames = Some(source.open()?);
        Ok(source)
    }

    fn open(&self) -> Result<FrameReader<Box<dyn Read + Send>>> {
        let url = &self.url;
        let response = self
            .agent
            .get(url)
            .call()
            .with_context(|| format!("cannot open the camera stream at {url}"))?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !content_type.starts_with("multipart/") && !content_type.starts_with("image/jpeg") {
            bail!(NotAStream(format!(
                "{url} serves `{}`, not an MJPEG stream; point camera_url at the camera's MJPEG URL",
                content_type.escape_debug()
            )));
        }
        // A live stream never ends on its own: no body size limit.
        let body = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        Ok(FrameReader::new(Box::new(body)))
    }

    /// Counts a failure and waits before the next attempt, or gives up.
    fn failed(&mut self, why: &str) -> Result<()> {
        self.failures += 1;
        if self.failures >= self.config.reconnect_attempts.max(1) {
            bail!(
                "giving up on the camera stream at {} after {} failed attempts in a row; last: {why}",
                self.url,
                self.failures
            );
        }
        let wait = (1u64 << (self.failures - 1).min(16)).min(self.config.max_backoff_secs);
        say(format_args!("{why}; reconnecting in {wait} s"));
        std::thread::sleep(Duration::from_secs(wait));
        Ok(())
    }
}

/// A camera URL that answers, but not with a stream: reconnecting cannot help.
#[derive(Debug)]
struct NotAStream(String);

impl std::fmt::Display for NotAStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAStream {}

impl FrameSource for HttpSource {
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            let Some(frames) = self.frames.as_mut() else {
                match self.open() {
                    Ok(frames) => self.frames = Some(frames),
                    Err(e) if e.is::<NotAStream>() => return Err(e),
                    Err(e) => self.failed(&format!("{e:#}"))?,
                }
                continue;
            };
            let why = match frames.next_frame() {
                Ok(Some(frame)) => {
                    self.failures = 0;
                    return Ok(Some(frame));
                }
                Ok(None) => "the camera stream ended".to_owned(),
                Err(e) => format!("reading the camera stream: {e}"),
            };
            self.skipped_before += frames.skipped();
            self.frames = None;
            self.failed(&why)?;
        }
    }

    fn skipped(&self) -> usize {
        self.skipped_before + self.frames.as_ref().map_or(0, FrameReader::skipped)
    }
}
