//! A stand-in for the Raspberry Pi camera when there is none: prints, as
//! `rpicam-vid --codec mjpeg -o -` would, 52 JPEG frames on stdout: a still
//! grey scene, a white square crossing it in 4 frames, then still again.
//! With the motion settings `camhub-config new` writes, camhub-raspberry
//! records one clip of 45 frames from it. README, "Try the programs end to end":
//!
//!     cargo run -q -p camera_hub --example stand_in_camera > scene.mjpeg
//!
//! and `--camera-command "cat $PWD/scene.mjpeg"` for `camhub-config new`.

use std::io::Write;

use jpeg_encoder::{ColorType, Encoder};

/// A 160×120 grey frame, with a white 40×40 square at `square` (x, y).
fn frame(square: Option<(usize, usize)>) -> Vec<u8> {
    let (w, h) = (160, 120);
    let mut pixels = vec![90u8; w * h];
    if let Some((sx, sy)) = square {
        for y in sy..sy + 40 {
            for x in sx..sx + 40 {
                pixels[y * w + x] = 250;
            }
        }
    }
    let mut out = Vec::new();
    Encoder::new(&mut out, 90)
        .encode(&pixels, w as u16, h as u16, ColorType::Luma)
        .expect("a fixed-size grey frame encodes");
    out
}

fn main() {
    let mut frames = vec![frame(None); 12];
    for x in [10, 50, 90, 110] {
        frames.push(frame(Some((x, 40))));
    }
    frames.extend(vec![frame(None); 36]);
    let mut out = std::io::stdout().lock();
    for f in &frames {
        // A reader that stops early (`| head -c`) is its choice, not an error.
        if out.write_all(f).is_err() {
            return;
        }
    }
    let _ = out.flush();
}
