//! Splits a byte stream (a camera's MJPEG output, or the body of an MJPEG
//! HTTP stream with its multipart headers between frames) into whole JPEG
//! frames. It follows the marker segments, so an `FF D9` inside an EXIF
//! thumbnail or segment payload does not end a frame early.

use std::io::{self, BufRead, BufReader, Read};

/// Frames larger than this are not camera frames; the stream is refused.
pub const MAX_FRAME_BYTES: usize = 16 << 20;

pub struct FrameReader<R> {
    input: BufReader<R>,
}

impl<R: Read> FrameReader<R> {
    pub fn new(input: R) -> Self {
        FrameReader {
            input: BufReader::with_capacity(64 << 10, input),
        }
    }

    fn byte(&mut self) -> io::Result<Option<u8>> {
        let buf = self.input.fill_buf()?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        Ok(Some(b))
    }

    /// The next whole frame, from `FF D8` to `FF D9` inclusive; `None` at the
    /// end of the stream (a frame cut off by the end is dropped).
    pub fn next_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        // Skip whatever is between frames (multipart boundaries and headers).
        let mut prev = 0u8;
        loop {
            let Some(b) = self.byte()? else {
                return Ok(None);
            };
            if prev == 0xFF && b == 0xD8 {
                break;
            }
            prev = b;
        }
        let mut frame = vec![0xFF, 0xD8];
        match self.segments(&mut frame) {
            Ok(true) => Ok(Some(frame)),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn push(&mut self, frame: &mut Vec<u8>, b: u8) -> io::Result<()> {
        if frame.len() >= MAX_FRAME_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a JPEG frame is larger than {MAX_FRAME_BYTES} bytes; this is not an MJPEG stream"
                ),
            ));
        }
        frame.push(b);
        Ok(())
    }

    /// Reads marker segments up to and including EOI. Ok(false) at end of input.
    fn segments(&mut self, frame: &mut Vec<u8>) -> io::Result<bool> {
        let mut pending_marker: Option<u8> = None;
        loop {
            let marker = match pending_marker.take() {
                Some(m) => m,
                None => {
                    let Some(b) = self.byte()? else {
                        return Ok(false);
                    };
                    if b != 0xFF {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "JPEG: expected a marker",
                        ));
                    }
                    let mut m = 0xFF;
                    while m == 0xFF {
                        let Some(next) = self.byte()? else {
                            return Ok(false);
                        };
                        m = next;
                    }
                    self.push(frame, 0xFF)?;
                    self.push(frame, m)?;
                    m
                }
            };
            match marker {
                0xD9 => return Ok(true),
                0xD0..=0xD7 | 0x01 => continue,
                _ => {}
            }
            let (Some(hi), Some(lo)) = (self.byte()?, self.byte()?) else {
                return Ok(false);
            };
            self.push(frame, hi)?;
            self.push(frame, lo)?;
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            for _ in 2..len.max(2) {
                let Some(b) = self.byte()? else {
                    return Ok(false);
                };
                self.push(frame, b)?;
            }
            if marker == 0xDA {
                // Entropy-coded data: FF 00 is a data byte, FF D0..D7 a restart,
                // any other FF xx the next marker.
                loop {
                    let Some(b) = self.byte()? else {
                        return Ok(false);
                    };
                    self.push(frame, b)?;
                    if b != 0xFF {
                        continue;
                    }
                    let mut next = 0xFF;
                    while next == 0xFF {
                        let Some(n) = self.byte()? else {
                            return Ok(false);
                        };
                        next = n;
                    }
                    self.push(frame, next)?;
                    if next == 0x00 || (0xD0..=0xD7).contains(&next) {
                        continue;
                    }
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
    fn garbage_after_soi_is_an_error_not_a_hang() {
        let mut reader = FrameReader::new(&[0xFF, 0xD8, 0x00, 0x01][..]);
        assert!(reader.next_frame().is_err());
    }
}
