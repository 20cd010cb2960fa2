//! Turns a stream of (frame, moved) into clips: a clip starts with the frames
//! kept from just before the motion and ends after enough still frames, or at
//! the longest clip allowed, or before it would grow past its byte limit (a
//! clip that goes on while the motion does is split into several).

use std::collections::VecDeque;

use hubcore::config::MotionConfig;

pub struct Recorder {
    config: MotionConfig,
    max_bytes: u64,
    before: VecDeque<Vec<u8>>,
    clip: Option<(Vec<Vec<u8>>, usize)>,
    /// Bytes of the clip being recorded.
    bytes: u64,
}

impl Recorder {
    /// `max_bytes`: the most frame bytes one clip holds (at least one frame).
    pub fn new(config: MotionConfig, max_bytes: u64) -> Self {
        Recorder {
            config,
            max_bytes,
            before: VecDeque::new(),
            clip: None,
            bytes: 0,
        }
    }

    /// Adds a frame; returns a clip's frames when this frame finished one.
    pub fn push(&mut self, frame: Vec<u8>, moved: bool) -> Option<Vec<Vec<u8>>> {
        let len = frame.len() as u64;
        if self.clip.is_some() && self.bytes + len > self.max_bytes {
            // Full: this clip ends here and the next goes on from this frame,
            // still recording (and counting still frames) as before.
            let (frames, still) = self.clip.take().expect("recording");
            let still = if moved { 0 } else { still + 1 };
            if still >= self.config.post_frames {
                self.bytes = 0;
                self.keep_before(frame);
            } else {
                self.clip = Some((vec![frame], still));
                self.bytes = len;
            }
            return Some(frames);
        }
        match &mut self.clip {
            None if moved => {
                let mut frames: Vec<Vec<u8>> = self.before.drain(..).collect();
                frames.push(frame);
                // The frames from before the motion give way if they alone
                // would fill the clip.
                let mut bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
                while bytes > self.max_bytes && frames.len() > 1 {
                    bytes -= frames.remove(0).len() as u64;
                }
                self.bytes = bytes;
                self.clip = Some((frames, 0));
            }
            None => {
                self.keep_before(frame);
                return None;
            }
            Some((frames, still)) => {
                frames.push(frame);
                self.bytes += len;
                *still = if moved { 0 } else { *still + 1 };
            }
        }
        let (frames, still) = self.clip.as_ref().expect("recording");
        if *still >= self.config.post_frames || frames.len() >= self.config.max_frames.max(1) {
            return self.finish();
        }
        None
    }

    fn keep_before(&mut self, frame: Vec<u8>) {
        self.before.push_back(frame);
        while self.before.len() > self.config.pre_frames {
            self.before.pop_front();
        }
    }

    /// Ends the clip being recorded, if any (the camera stopped).
    pub fn finish(&mut self) -> Option<Vec<Vec<u8>>> {
        self.bytes = 0;
        self.clip.take().map(|(frames, _)| frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MotionConfig {
        MotionConfig {
            pre_frames: 2,
            post_frames: 2,
            max_frames: 6,
            ..MotionConfig::default()
        }
    }

    #[test]
    fn a_clip_holds_pre_motion_and_post_frames() {
        let mut r = Recorder::new(config(), u64::MAX);
        let moves = [false, false, false, true, true, false, false, false];
        let mut clips = Vec::new();
        for (i, moved) in moves.iter().enumerate() {
            clips.extend(r.push(vec![i as u8], *moved));
        }
        assert_eq!(
            clips,
            [vec![vec![1], vec![2], vec![3], vec![4], vec![5], vec![6]]]
        );
        assert_eq!(r.finish(), None);
    }

    #[test]
    fn long_motion_is_cut_at_max_frames_and_the_rest_is_finished_at_the_end() {
        let mut r = Recorder::new(config(), u64::MAX);
        let mut clips = Vec::new();
        for i in 0..8u8 {
            clips.extend(r.push(vec![i], true));
        }
        assert_eq!(clips.len(), 1);
        assert_eq!(clips[0].len(), 6);
        assert_eq!(r.finish(), Some(vec![vec![6], vec![7]]));
    }

    #[test]
    fn a_clip_is_split_before_it_passes_its_byte_limit() {
        let mut r = Recorder::new(config(), 5);
        let mut clips = Vec::new();
        // Two-byte frames: at most two per clip; the motion stops at 4 and
        // the clip after frame 6 (the second still frame) would be empty.
        let moves = [false, true, true, true, true, false, false, false];
        for (i, moved) in moves.iter().enumerate() {
            clips.extend(r.push(vec![i as u8; 2], *moved));
        }
        clips.extend(r.finish());
        let clips: Vec<Vec<u8>> = clips.into_iter().map(|c| c.concat()).collect();
        assert_eq!(
            clips,
            [vec![0, 0, 1, 1], vec![2, 2, 3, 3], vec![4, 4, 5, 5]]
        );
    }
}
