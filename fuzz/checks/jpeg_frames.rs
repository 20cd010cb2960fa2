//! hubcore's JPEG frame reader over any byte stream, and each frame it yields
//! through the hub's motion decoder with the default decode-size bound
//! (`motion.max_frame_pixels`), as the hub's pipeline does.
//!
//! The first byte sets how many bytes each read returns (and, with its high
//! bit, that every other read is interrupted), the way a pipe or socket
//! delivers a stream in pieces.

use std::io::{self, Read};

use camera_hub::motion::brightness_grid;
use hubcore::config::MotionConfig;
use hubcore::jpeg::{FrameReader, MAX_FRAME_BYTES};

struct Pieces<'a> {
    data: &'a [u8],
    piece: usize,
    interrupt: bool,
    interrupted: bool,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.interrupt {
            self.interrupted = !self.interrupted;
            if self.interrupted {
                return Err(io::ErrorKind::Interrupted.into());
            }
        }
        let n = self.piece.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

pub fn run(data: &[u8]) {
    let Some((&how, stream)) = data.split_first() else {
        return;
    };
    let max_pixels = MotionConfig::default().max_frame_pixels;
    let mut frames = FrameReader::new(Pieces {
        data: stream,
        piece: usize::from(how & 0x7F).max(1),
        interrupt: how & 0x80 != 0,
        interrupted: false,
    });
    let (mut count, mut bytes) = (0, 0);
    while let Some(frame) = frames
        .next_frame()
        .expect("reading from memory cannot fail")
    {
        assert!(frame.starts_with(&[0xFF, 0xD8]) && frame.ends_with(&[0xFF, 0xD9]));
        assert!(frame.len() <= MAX_FRAME_BYTES);
        count += 1;
        bytes += frame.len();
        // Frames are made of the stream's bytes, never more.
        assert!(bytes <= stream.len() && count <= stream.len() / 4);
        if let Ok(grid) = brightness_grid(&frame, max_pixels) {
            assert_eq!(grid.len(), 16 * 12);
        }
    }
    assert!(frames.skipped() <= stream.len() / 2);
}
