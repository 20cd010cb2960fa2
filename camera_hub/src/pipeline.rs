//! The hub's main loop: frames → motion → clips → sealed files → uploads.
//! Sealed clips are written to `pending/` before any upload and moved to
//! `sent/` after, so a clip survives a server that is down. Uploads run on
//! their own thread, woken by each new clip and by a timer, so a slow or
//! silent server never holds up the camera. A clip the server refuses for
//! good is moved to `rejected/` (kept, with a warning) so it blocks nothing.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use hubcore::config::{HubConfig, write_private_file};
use hubcore::{clip, counted, secret};

use crate::motion::MotionDetector;
use crate::recorder::Recorder;
use crate::source::FrameSource;
use crate::upload::{Outcome, Uploader, open_clip};

/// One line of progress on standard output. A closed stdout is no reason
/// to stop recording.
pub fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub frames: usize,
    pub undecodable: usize,
    pub clips: usize,
    pub uploaded: usize,
    pub pending: usize,
}

pub struct Hub {
    config: HubConfig,
    key: [u8; 32],
    queue: Queue,
}

/// The clip folders and the uploads between them.
struct Queue {
    pending: PathBuf,
    sent: PathBuf,
    rejected: PathBuf,
    uploader: Uploader,
    uploaded: AtomicUsize,
}

enum Wake {
    NewClip,
    Stop,
}

impl Hub {
    /// Checks the config and creates the clip folders. `config_path` anchors
    /// a relative clip_dir.
    pub fn new(config_path: &Path, config: HubConfig) -> Result<Hub> {
        let key = secret::key_from_hex(&config.key)
            .with_context(|| format!("{}: field `key`", config_path.display()))?;
        if !hubcore::is_safe_name(&config.camera_id) {
            anyhow::bail!(
                "{}: camera_id `{}` must be letters, digits, `-`, `_` or `.`",
                config_path.display(),
                config.camera_id
            );
        }
        hubcore::server_url::check(&config.server_url)
            .with_context(|| format!("{}: field `server_url`", config_path.display()))?;
        let clip_dir = hubcore::config::relative_to(config_path, &config.clip_dir);
        let [pending, sent, rejected] = ["pending", "sent", "rejected"].map(|d| clip_dir.join(d));
        for dir in [&pending, &sent, &rejected] {
            fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        }
        remove_interrupted_writes(&pending);
        Ok(Hub {
            queue: Queue {
                pending,
                sent,
                rejected,
                uploader: Uploader::new(&config),
                uploaded: AtomicUsize::new(0),
            },
            config,
            key,
        })
    }

    /// Runs until the source ends or fails. The clip being recorded is sealed
    /// and kept either way; a failed source is the returned error, after the
    /// summary line.
    pub fn run(&self, source: &mut dyn FrameSource) -> Result<Summary> {
        let mut summary = Summary::default();
        let (wake, woken) = mpsc::channel();
        let retry = Duration::from_secs(self.config.upload.retry_secs.max(1));
        let recorded = std::thread::scope(|scope| {
            let uploads = scope.spawn(move || self.queue.run(&woken, retry));
            let recorded = self.record(source, &mut summary, &|| {
                let _ = wake.send(Wake::NewClip);
            });
            let _ = wake.send(Wake::Stop);
            if uploads.join().is_err() {
                say(format_args!(
                    "the upload thread failed; clips stay in pending/"
                ));
            }
            recorded
        });
        summary.uploaded = self.queue.uploaded.load(Ordering::Relaxed);
        summary.pending = fs::read_dir(&self.queue.pending)?.count();
        say(format_args!(
            "camera stopped: {}, {}, {} uploaded, {} waiting in {}",
            counted(summary.frames as u64, "frame", "frames"),
            counted(summary.clips as u64, "clip", "clips"),
            summary.uploaded,
            summary.pending,
            self.queue.pending.display()
        ));
        recorded?;
        Ok(summary)
    }

    /// Frames to clips until the source ends (Ok) or fails (its error); the
    /// clip in progress is sealed in both cases.
    fn record(
        &self,
        source: &mut dyn FrameSource,
        summary: &mut Summary,
        new_clip: &dyn Fn(),
    ) -> Result<()> {
        let mut motion = MotionDetector::new(self.config.motion.clone());
        let frame_budget = self
            .config
            .upload
            .max_clip_bytes
            .saturating_sub(clip::sealed_len(0));
        let mut recorder = Recorder::new(self.config.motion.clone(), frame_budget);
        let mut skipped = 0;
        let ended = loop {
            let frame = source.next_frame();
            if source.skipped() > skipped {
                say(format_args!(
                    "skipped {} from the camera",
                    counted(
                        (source.skipped() - skipped) as u64,
                        "malformed or cut-off frame",
                        "malformed or cut-off frames"
                    )
                ));
                skipped = source.skipped();
            }
            let frame = match frame {
                Ok(Some(frame)) => frame,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            summary.frames += 1;
            let moved = motion.moved(&frame).unwrap_or_else(|e| {
                summary.undecodable += 1;
                say(format_args!("skipping frame {}: {e:#}", summary.frames));
                false
            });
            if let Some(frames) = recorder.push(frame, moved) {
                self.store(frames, summary)?;
                new_clip();
            }
        };
        if let Some(frames) = recorder.finish() {
            self.store(frames, summary)?;
        }
        ended
    }

    fn store(&self, frames: Vec<Vec<u8>>, summary: &mut Summary) -> Result<()> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("clip-{nanos}.mjpeg");
        let count = frames.len();
        let sealed = clip::seal_parts(&self.key, &self.config.camera_id, &name, frames)?;
        write_private_file(&self.queue.pending.join(&name), &sealed, false)?;
        summary.clips += 1;
        say(format_args!(
            "recorded {name}: {}, {} sealed",
            counted(count as u64, "frame", "frames"),
            counted(sealed.len() as u64, "byte", "bytes")
        ));
        Ok(())
    }
}

impl Queue {
    /// Tries the queue at start, after each new clip, every `retry` and once
    /// more when told to stop.
    fn run(&self, woken: &Receiver<Wake>, retry: Duration) {
        loop {
            self.upload_pending();
            match woken.recv_timeout(retry) {
                Ok(Wake::NewClip) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    // Clips stored since this pass began.
                    self.upload_pending();
                    return;
                }
            }
        }
    }

    /// Uploads every waiting clip, oldest first. A clip refused for good
    /// moves to `rejected/` and the next one is tried; when nothing can get
    /// through now, the rest wait for the next pass.
    fn upload_pending(&self) {
        let Ok(entries) = fs::read_dir(&self.pending) else {
            say(format_args!(
                "{}: cannot list the waiting clips",
                self.pending.display()
            ));
            return;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| hubcore::is_safe_name(n))
            .collect();
        names.sort();
        for name in names {
            let path = self.pending.join(&name);
            let file = match open_clip(&path) {
                Ok(Some((file, _))) => file,
                Ok(None) => {
                    say(format_args!(
                        "skipping {}: not a regular file; remove it",
                        path.display()
                    ));
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => {
                    say(format_args!("skipping {}: {e}", path.display()));
                    continue;
                }
            };
            match self.uploader.upload(&name, file, &path) {
                outcome @ (Outcome::Sent | Outcome::AlreadyThere) => {
                    if let Err(e) = fs::rename(&path, self.sent.join(&name)) {
                        say(format_args!(
                            "uploaded {name}, but cannot move it to {}: {e}",
                            self.sent.display()
                        ));
                        continue;
                    }
                    self.uploaded.fetch_add(1, Ordering::Relaxed);
                    if outcome == Outcome::AlreadyThere {
                        say(format_args!("uploaded {name} (already on the server)"));
                    } else {
                        say(format_args!("uploaded {name}"));
                    }
                }
                Outcome::Refused(why) => {
                    let kept = self.rejected.join(&name);
                    match fs::rename(&path, &kept) {
                        Ok(()) => say(format_args!(
                            "the server refused {name} for good; kept at {}: {why}",
                            kept.display()
                        )),
                        Err(e) => say(format_args!(
                            "the server refused {name} for good ({why}), and it cannot be moved to {}: {e}",
                            self.rejected.display()
                        )),
                    }
                }
                Outcome::NotNow(why) => {
                    say(format_args!(
                        "upload of {name} failed, kept for later: {why}"
                    ));
                    return;
                }
            }
        }
    }
}

/// Temporary files of clip writes cut off by a crash: never a whole clip.
fn remove_interrupted_writes(pending: &Path) {
    let Ok(entries) = fs::read_dir(pending) else {
        return;
    };
    for entry in entries.flatten() {
        let is_temp = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(".camhub-"));
        if is_temp && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}
