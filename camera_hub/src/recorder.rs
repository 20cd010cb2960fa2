//! Turns a stream of (frame, moved) into clips: a clip starts with the frames
//! kept from just before the motion and ends after enough still frames, or at
//! the longest clip allowed.

use std::collections::VecDeque;

use hubcore::config::MotionConfig;

pub struct Recorder {
    config: MotionConfig,
    before: VecDeque<Vec<u8>>,
    clip: Option<(Vec<Vec<u8>>, usize)>,
}

impl Recorder {
    pub fn new(config: MotionConfig) -> Self {
        Recorder {
            config,
            before: VecDeque::new(),
            clip: None,
        }
    }

    /// Adds a frame; returns a clip's frames when this frame finished one.
    pub fn push(&mut self, frame: Vec<u8>, moved: bool) -> Option<Vec<Vec<u8>>> {
        match &mut self.clip {
            None if moved => {
                let mut frames: Vec<Vec<u8>> = self.before.drain(..).collect();
                frames.push(frame);
                self.clip = Some((frames, 0));
            }
            None => {
                self.before.push_back(frame);
                while self.before.len() > self.config.pre_frames {
                    self.before.pop_front();
                }
                return None;
            }
            Some((frames, still)) => {
                frames.push(frame);
                *still = if moved { 0 } else { *still + 1 };
            }
        }
        let (frames, still) = self.clip.as_ref().expect("recording");
        if *still >= self.config.post_frames || frames.len() >= self.config.max_frames.max(1) {
            return self.finish();
        }
        None
    }

    /// Ends the clip being recorded, if any (the camera stopped).
    pub fn finish(&mut self) -> Option<Vec<Vec<u8>>> {
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
        let mut r = Recorder::new(config());
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
        let mut r = Recorder::new(config());
        let mut clips = Vec::new();
        for i in 0..8u8 {
            clips.extend(r.push(vec![i], true));
        }
        assert_eq!(clips.len(), 1);
        assert_eq!(clips[0].len(), 6);
        assert_eq!(r.finish(), Some(vec![vec![6], vec![7]]));
    }
}
