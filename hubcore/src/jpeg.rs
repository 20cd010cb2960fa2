//! Splits a byte stream (a camera's MJPEG output, or the body of an MJPEG
//! HTTP stream with its multipart headers between frames) into whole JPEG
//! frames. It follows the marker segments, so an `FF D9` inside an EXIF
//! thumbnail or segment payload does not end a frame early.
//!
//! A malformed or cut-off frame is skipped, never fatal: reading resumes at
//! the next frame start (`FF D8`), including one that turns up where the
//! broken frame's data or next marker should be, so one bad frame costs one
//! frame, not the ones after it.

use std::io::{self, BufRead, BufReader, Read};

/// Frames larger than this are not camera frames; they are skipped.
pub const MAX_FRAME_BYTES: usize = 16 << 20;

pub struct FrameReader<R> {
    input: BufReader<R>,
    /// The start of a frame was read while reading the previous one.
    at_frame_start: bool,
    skipped: usize,
}

/// How reading one frame's segments ended.
enum End {
    Complete,
    /// The input ended inside the frame.
    Eof,
    Malformed,
    /// A frame start where the frame's data or next marker should be.
    NextFrame,
}

impl<R: Read> FrameReader<R> {
    pub fn new(input: R) -> Self {
        FrameReader {
            input: BufReader::with_capacity(64 << 10, input),
            at_frame_start: false,
            skipped: 0,
        }
    }

    /// Malformed, oversized or cut-off frames skipped so far.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    fn byte(&mut self) -> io::Result<Option<u8>> {
        let buf = loop {
            match self.input.fill_buf() {
                Ok(buf) => break buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        Ok(Some(b))
    }

    /// Skips to just past the next `FF D8`; false at the end of the input.
    fn find_frame_start(&mut self) -> io::Result<bool> {
        if std::mem::take(&mut self.at_frame_start) {
            return Ok(true);
        }
        let mut prev = 0u8;
        loop {
            let Some(b) = self.byte()? else {
                return Ok(false);
            };
            if prev == 0xFF && b == 0xD8 {
                return Ok(true);
            }
            prev = b;
        }
    }

    /// The next whole frame, from `FF D8` to `FF D9` inclusive; `None` at the
    /// end of the stream. Errors are only the input's own.
    pub fn next_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if !self.find_frame_start()? {
                return Ok(None);
            }
            let mut frame = vec![0xFF, 0xD8];
            match self.segments(&mut frame)? {
                End::Complete => return Ok(Some(frame)),
                End::Eof => {
                    self.skipped += 1;
                    return Ok(None);
                }
                End::Malformed => self.skipped += 1,
                End::NextFrame => {
                    self.skipped += 1;
                    self.at_frame_start = true;
                }
            }
        }
    }

    /// Adds a byte; false when the frame grew past MAX_FRAME_BYTES.
    fn push(frame: &mut Vec<u8>, b: u8) -> bool {
        if frame.len() >= MAX_FRAME_BYTES {
            return false;
        }
        frame.push(b);
        true
    }

    /// Reads marker segments up to and including EOI.
    fn segments(&mut self, frame: &mut Vec<u8>) -> io::Result<End> {
        macro_rules! next {
            () => {
                match self.byte()? {
                    Some(b) => b,
                    None => return Ok(End::Eof),
                }
            };
        }
        macro_rules! push {
            ($b:expr) => {
                if !Self::push(frame, $b) {
                    return Ok(End::Malformed);
                }
            };
        }
        let mut pending_marker: Option<u8> = None;
        loop {
            let marker = match pending_marker.take() {
                Some(m) => m,
                None => {
                    if next!() != 0xFF {
                        return Ok(End::Malformed);
                    }
                    let mut m = 0xFF;
                    while m == 0xFF {
                        m = next!();
                    }
                    push!(0xFF);
                    push!(m);
                    m
                }
            };
            match marker {
                0xD9 => return Ok(End::Complete),
                0xD8 => return Ok(End::NextFrame),
                0x00 => return Ok(End::Malformed),
                0xD0..=0xD7 | 0x01 => continue,
                _ => {}
            }
            let (hi, lo) = (next!(), next!());
            push!(hi);
            push!(lo);
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if len < 2 {
                return Ok(End::Malformed);
            }
            for _ in 2..len {
                let b = next!();
                push!(b);
            }
            if marker == 0xDA {
                // Entropy-coded data: FF 00 is a data byte, FF D0..D7 a restart,
                // any other FF xx the next marker.
                loop {
                    let b = next!();
                    if b != 0xFF {
                        push!(b);
                        continue;
                    }
                    let mut next = 0xFF;
                    while next == 0xFF {
                        next = next!();
                    }
                    if next == 0x00 || (0xD0..=0xD7).contains(&next) {
                        push!(0xFF);
                        push!(next);
                        continue;
                    }
                    if next == 0xD8 {
                        return Ok(End::NextFrame);
                    }
                    push!(0xFF);
                    push!(next);
                    pending_marker = Some(next);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal JPEG-shaped byte sequence: SOI, an APP1 whose payload holds
    /// a stray FF D9, SOS, entropy data with stuffing and a restart, EOI.
    fn frame(tag: u8) -> Vec<u8> {
        let mut f = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, b'x', tag];
        f.extend([
            0xFF, 0xDA, 0x00, 0x03, 0x01, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, tag,
        ]);
        f.extend([0xFF, 0xD9]);
        f
    }

    #[test]
    fn splits_frames_and_skips_multipart_headers_between_them() {
        let mut stream = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
        stream.extend(frame(1));
        stream.extend(b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n");
        stream.extend(frame(2));
        stream.extend(&frame(3)[..10]); // cut off by the end of the stream
        let mut reader = FrameReader::new(stream.as_slice());
        assert_eq!(reader.next_frame().unwrap(), Some(frame(1)));
        assert_eq!(reader.next_frame().unwrap(), Some(frame(2)));
        assert_eq!(reader.next_frame().unwrap(), None);
    }

    #[test]
    fn garbage_after_soi_is_skipped_not_a_hang() {
        let mut reader = FrameReader::new(&[0xFF, 0xD8, 0x00, 0x01][..]);
        assert_eq!(reader.next_frame().unwrap(), None);
        assert_eq!(reader.skipped(), 1);
    }

    #[test]
    fn a_broken_frame_costs_only_itself() {
        let mut stream = frame(1);
        // Cut off inside its entropy data: the next frame starts there.
        stream.extend(&frame(2)[..16]);
        stream.extend(frame(3));
        // Garbage where a marker should be.
        stream.extend([0xFF, 0xD8, 0x12, 0x34]);
        stream.extend(frame(4));
        // Cut off inside a segment header, then a frame start.
        stream.extend(&frame(5)[..3]);
        stream.extend(frame(6));
        stream.extend(&frame(7)[..12]);
        let mut reader = FrameReader::new(stream.as_slice());
        let mut got = Vec::new();
        while let Some(f) = reader.next_frame().unwrap() {
            got.push(f);
        }
        assert_eq!(got, [frame(1), frame(3), frame(4), frame(6)]);
        assert_eq!(reader.skipped(), 4);
    }
}
