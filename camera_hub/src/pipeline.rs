//! The hub's main loop: frames → motion → clips → sealed files → uploads.
//! Sealed clips are written to `pending/` before any upload and moved to
//! `sent/` after, so a clip survives a server that is down.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use hubcore::config::{HubConfig, write_private_file};
use hubcore::{clip, secret};

use crate::motion::MotionDetector;
use crate::recorder::Recorder;
use crate::source::FrameSource;
use crate::upload::upload;

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
    pending: PathBuf,
    sent: PathBuf,
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
        let clip_dir = hubcore::config::relative_to(config_path, &config.clip_dir);
        let (pending, sent) = (clip_dir.join("pending"), clip_dir.join("sent"));
        for dir in [&pending, &sent] {
            fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        }
        Ok(Hub {
            config,
            key,
            pending,
            sent,
        })
    }

    /// Runs until the source ends. Progress lines go to `out`.
    pub fn run(&self, source: &mut dyn FrameSource, out: &mut dyn Write) -> Result<Summary> {
        let mut summary = Summary::default();
        let mut motion = MotionDetector::new(self.config.motion.clone());
        let mut recorder = Recorder::new(self.config.motion.clone());
        while let Some(frame) = source.next_frame()? {
            summary.frames += 1;
            let moved = motion.moved(&frame).unwrap_or_else(|e| {
                summary.undecodable += 1;
                let _ = writeln!(out, "skipping frame {}: {e:#}", summary.frames);
                false
            });
            if let Some(frames) = recorder.push(frame, moved) {
                self.store(&frames, &mut summary, out)?;
                self.upload_pending(&mut summary, out)?;
            }
        }
        if let Some(frames) = recorder.finish() {
            self.store(&frames, &mut summary, out)?;
        }
        self.upload_pending(&mut summary, out)?;
        summary.pending = fs::read_dir(&self.pending)?.count();
        writeln!(
            out,
            "camera stopped: {} frames, {} clips, {} uploaded, {} waiting in {}",
            summary.frames,
            summary.clips,
            summary.uploaded,
            summary.pending,
            self.pending.display()
        )?;
        Ok(summary)
    }

    fn store(&self, frames: &[Vec<u8>], summary: &mut Summary, out: &mut dyn Write) -> Result<()> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("clip-{nanos}.mjpeg");
        let sealed = clip::seal(&self.key, &self.config.camera_id, &name, &frames.concat())?;
        write_private_file(&self.pending.join(&name), &sealed, false)?;
        summary.clips += 1;
        writeln!(
            out,
            "recorded {name}: {} frames, {} bytes sealed",
            frames.len(),
            sealed.len()
        )?;
        Ok(())
    }

    /// Uploads every waiting clip, oldest first; one that fails stays for the next try.
    fn upload_pending(&self, summary: &mut Summary, out: &mut dyn Write) -> Result<()> {
        let mut names: Vec<String> = fs::read_dir(&self.pending)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| hubcore::is_safe_name(n))
            .collect();
        names.sort();
        for name in names {
            let path = self.pending.join(&name);
            let sealed = fs::read(&path)?;
            match upload(&self.config, &name, &sealed) {
                Ok(()) => {
                    fs::rename(&path, self.sent.join(&name))?;
                    summary.uploaded += 1;
                    writeln!(out, "uploaded {name}")?;
                }
                Err(e) => {
                    writeln!(out, "upload of {name} failed, kept for later: {e:#}")?;
                    break;
                }
            }
        }
        Ok(())
    }
}
