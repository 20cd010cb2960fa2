//! Motion: successive frames are reduced to a grid of mean brightness, and a
//! frame moves when enough cells changed by more than a threshold.

use anyhow::{Context, Result};
use hubcore::config::MotionConfig;
use jpeg_decoder::{Decoder, PixelFormat};

const GRID_W: usize = 16;
const GRID_H: usize = 12;

/// Mean brightness of each cell of a GRID_W × GRID_H grid over the frame.
/// A frame declaring more than `max_pixels` is refused from its header,
/// before anything is decoded or allocated for it.
pub fn brightness_grid(jpeg: &[u8], max_pixels: u64) -> Result<Vec<u8>> {
    let mut decoder = Decoder::new(jpeg);
    decoder.read_info().context("not a decodable JPEG frame")?;
    let declared = decoder.info().context("JPEG frame without a header")?;
    let pixels = u64::from(declared.width) * u64::from(declared.height);
    if pixels > max_pixels {
        anyhow::bail!(
            "the frame declares {}x{} pixels, more than motion.max_frame_pixels ({max_pixels})",
            declared.width,
            declared.height
        );
    }
    // Decode at reduced size (DCT scaling): motion does not need full resolution.
    decoder
        .scale(160, 120)
        .context("not a decodable JPEG frame")?;
    let pixels = decoder.decode().context("not a decodable JPEG frame")?;
    let info = decoder.info().context("JPEG frame without a header")?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    let luma: Vec<u8> = match info.pixel_format {
        PixelFormat::L8 => pixels,
        PixelFormat::L16 => pixels.chunks_exact(2).map(|p| p[0]).collect(),
        PixelFormat::RGB24 => pixels
            .chunks_exact(3)
            .map(|p| {
                ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8) as u8
            })
            .collect(),
        PixelFormat::CMYK32 => pixels.chunks_exact(4).map(|p| 255 - p[3]).collect(),
    };
    let mut sums = vec![0u32; GRID_W * GRID_H];
    let mut counts = vec![0u32; GRID_W * GRID_H];
    for y in 0..h {
        for x in 0..w {
            let cell = (y * GRID_H / h.max(1)) * GRID_W + x * GRID_W / w.max(1);
            sums[cell] += u32::from(luma[y * w + x]);
            counts[cell] += 1;
        }
    }
    Ok(sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| if *c == 0 { 0 } else { (s / c) as u8 })
        .collect())
}

pub struct MotionDetector {
    config: MotionConfig,
    previous: Option<Vec<u8>>,
}

impl MotionDetector {
    pub fn new(config: MotionConfig) -> Self {
        MotionDetector {
            config,
            previous: None,
        }
    }

    /// Whether this frame moved against the previous decodable one.
    pub fn moved(&mut self, jpeg: &[u8]) -> Result<bool> {
        let grid = brightness_grid(jpeg, self.config.max_frame_pixels)?;
        let moved = self.previous.as_ref().is_some_and(|prev| {
            let changed = prev
                .iter()
                .zip(&grid)
                .filter(|(a, b)| a.abs_diff(**b) > self.config.cell_threshold)
                .count();
            changed as f32 / grid.len() as f32 > self.config.min_changed_fraction
        });
        self.previous = Some(grid);
        Ok(moved)
    }
}
