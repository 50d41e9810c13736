//! Drawing on an image with a clip rectangle: lines, boxes and text, never out of bounds.

use image::{Rgb, RgbImage};

use super::font::glyph;

/// Inclusive pixel bounds of the plot area.
pub(super) struct Area {
    pub left: i32,
    pub top: i32,
    pub right: i32,
    pub bottom: i32,
}

/// An image plus a clip rectangle (inclusive), so drawing never needs bounds checks of its own.
pub(super) struct Canvas {
    pub img: RgbImage,
    pub clip: (i32, i32, i32, i32),
}

impl Canvas {
    pub fn put(&mut self, x: i32, y: i32, c: Rgb<u8>) {
        let (x0, y0, x1, y1) = self.clip;
        if x >= x0 && x <= x1 && y >= y0 && y <= y1 {
            self.img.put_pixel(x as u32, y as u32, c);
        }
    }

    pub fn hline(&mut self, x0: i32, x1: i32, y: i32, c: Rgb<u8>) {
        for x in x0..=x1 {
            self.put(x, y, c);
        }
    }

    pub fn vline(&mut self, x: i32, y0: i32, y1: i32, c: Rgb<u8>) {
        for y in y0..=y1 {
            self.put(x, y, c);
        }
    }

    pub fn fill_rect(&mut self, x: i32, y: i32, w: i32, h: i32, c: Rgb<u8>) {
        for yy in y..y + h {
            self.hline(x, x + w - 1, yy, c);
        }
    }

    /// Bresenham's line with each step drawn as a 2x2 block: 2 px wide in every direction.
    pub fn thick_line(&mut self, (mut x, mut y): (i32, i32), (x1, y1): (i32, i32), c: Rgb<u8>) {
        let dx = (x1 - x).abs();
        let dy = -(y1 - y).abs();
        let sx = if x < x1 { 1 } else { -1 };
        let sy = if y < y1 { 1 } else { -1 };
        let mut err = dx + dy;
        loop {
            self.fill_rect(x, y, 2, 2, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Draws `s` with its top-left corner at (x, y), each font pixel a `scale`x`scale` block.
    pub fn text(&mut self, x: i32, y: i32, s: &str, scale: i32, c: Rgb<u8>) {
        for (i, ch) in s.chars().enumerate() {
            let gx = x + i as i32 * 6 * scale;
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        let px = gx + col * scale;
                        let py = y + row as i32 * scale;
                        self.fill_rect(px, py, scale, scale, c);
                    }
                }
            }
        }
    }
}
