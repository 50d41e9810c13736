//! Loss curves as PNG line plots, drawn pixel by pixel on an `RgbImage`.
//!
//! A plotting crate would pull in fonts and a large dependency tree for a picture that only
//! needs axes, a few polylines and some numbers, so this file carries its own 5x7 bitmap font
//! and line rasteriser.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::error::{Error, Result};

/// Size of the plots written by [`save_line_plot`].
pub const DEFAULT_WIDTH: u32 = 800;
/// Plot height in pixels.
pub const DEFAULT_HEIGHT: u32 = 480;
/// Below this the labels no longer fit.
const MIN_WIDTH: u32 = 240;
const MIN_HEIGHT: u32 = 160;

const BACKGROUND: Rgb<u8> = Rgb([255, 255, 255]);
const GRID: Rgb<u8> = Rgb([228, 228, 228]);
const AXIS: Rgb<u8> = Rgb([60, 60, 60]);
const TEXT: Rgb<u8> = Rgb([20, 20, 20]);
const LEGEND_BORDER: Rgb<u8> = Rgb([170, 170, 170]);

/// Space around the plot area for the title, tick labels and axis label.
const MARGIN_LEFT: i32 = 84;
const MARGIN_RIGHT: i32 = 24;
const MARGIN_TOP: i32 = 40;
const MARGIN_BOTTOM: i32 = 46;
/// Grid divisions per axis; every grid line carries a tick label.
const DIVISIONS: i32 = 4;

/// One curve: `values[i]` is plotted at `xs[i]`.
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    /// The legend entry.
    pub name: &'a str,
    /// One value per x.
    pub values: &'a [f32],
    /// RGB.
    pub color: [u8; 3],
}

/// Draws `series` against `xs` into a [`DEFAULT_WIDTH`]x[`DEFAULT_HEIGHT`] PNG at `path`,
/// written atomically (via `path` + `.tmp` and a rename) so a viewer refreshing the plot
/// during training never reads half a file.
pub fn save_line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    series: &[Series],
    xs: &[f32],
) -> Result<()> {
    let img =
        draw(title, x_label, series, xs, DEFAULT_WIDTH, DEFAULT_HEIGHT).map_err(|message| {
            Error::Image {
                path: path.to_path_buf(),
                message,
            }
        })?;
    super::grid::write_png_atomic(
        path,
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )
}

/// The plot as an image of any size (at least 240x160), for callers that compose pictures.
///
/// Every series must have one value per entry of `xs`. The y range spans the finite values
/// of all series plus a 5% margin; non-finite values (and points whose x is non-finite) are
/// skipped and break the line, so a diverged run shows where it diverged.
pub fn line_plot(
    title: &str,
    x_label: &str,
    series: &[Series],
    xs: &[f32],
    width: u32,
    height: u32,
) -> Result<RgbImage> {
    draw(title, x_label, series, xs, width, height)
        .map_err(|detail| Error::shape("line_plot", detail))
}

fn draw(
    title: &str,
    x_label: &str,
    series: &[Series],
    xs: &[f32],
    width: u32,
    height: u32,
) -> std::result::Result<RgbImage, String> {
    if width < MIN_WIDTH || height < MIN_HEIGHT || width > 16384 || height > 16384 {
        return Err(format!(
            "plot size {width}x{height} is out of range: expected {MIN_WIDTH}x{MIN_HEIGHT} to \
             16384x16384"
        ));
    }
    if let Some(s) = series.iter().find(|s| s.values.len() != xs.len()) {
        return Err(format!(
            "series {:?} has {} values but there are {} x positions",
            s.name,
            s.values.len(),
            xs.len()
        ));
    }

    let mut canvas = Canvas {
        img: RgbImage::from_pixel(width, height, BACKGROUND),
        clip: (0, 0, width as i32 - 1, height as i32 - 1),
    };
    let area = Area {
        left: MARGIN_LEFT,
        top: MARGIN_TOP,
        right: width as i32 - 1 - MARGIN_RIGHT,
        bottom: height as i32 - 1 - MARGIN_BOTTOM,
    };

    let (x0, x1) = padded_range(xs.iter().copied(), 0.0);
    let (y0, y1) = padded_range(series.iter().flat_map(|s| s.values.iter().copied()), 0.05);

    // Grid lines with tick labels, then the axes over them.
    for i in 0..=DIVISIONS {
        let t = i as f64 / DIVISIONS as f64;
        let px = area.left + ((area.right - area.left) as f64 * t).round() as i32;
        let py = area.bottom - ((area.bottom - area.top) as f64 * t).round() as i32;
        canvas.hline(area.left, area.right, py, GRID);
        canvas.vline(px, area.top, area.bottom, GRID);

        let label = format_tick(y0 + (y1 - y0) * t, (y1 - y0) / DIVISIONS as f64);
        let w = text_width(&label, 1);
        canvas.text(area.left - 6 - w, py - 3, &label, 1, TEXT);
        canvas.hline(area.left - 4, area.left - 1, py, AXIS);

        let label = format_tick(x0 + (x1 - x0) * t, (x1 - x0) / DIVISIONS as f64);
        let w = text_width(&label, 1);
        canvas.text(px - w / 2, area.bottom + 8, &label, 1, TEXT);
        canvas.vline(px, area.bottom + 1, area.bottom + 4, AXIS);
    }
    canvas.hline(area.left, area.right, area.bottom, AXIS);
    canvas.vline(area.left, area.top, area.bottom, AXIS);

    canvas.text(
        (width as i32 - text_width(title, 2)) / 2,
        (MARGIN_TOP - 14) / 2,
        title,
        2,
        TEXT,
    );
    canvas.text(
        area.left + (area.right - area.left - text_width(x_label, 1)) / 2,
        height as i32 - 16,
        x_label,
        1,
        TEXT,
    );

    // Curves, clipped to the plot area.
    canvas.clip = (area.left, area.top, area.right, area.bottom);
    let to_px = |x: f32, y: f32| -> Option<(i32, i32)> {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        let tx = (x as f64 - x0) / (x1 - x0);
        let ty = (y as f64 - y0) / (y1 - y0);
        Some((
            area.left + (tx * (area.right - area.left) as f64).round() as i32,
            area.bottom - (ty * (area.bottom - area.top) as f64).round() as i32,
        ))
    };
    for s in series {
        let color = Rgb(s.color);
        let points: Vec<Option<(i32, i32)>> = xs
            .iter()
            .zip(s.values)
            .map(|(&x, &y)| to_px(x, y))
            .collect();
        for (i, p) in points.iter().enumerate() {
            let Some(p) = *p else { continue };
            let prev = i.checked_sub(1).and_then(|j| points[j]);
            let next = points.get(i + 1).copied().flatten();
            match next {
                Some(q) => canvas.thick_line(p, q, color),
                // An isolated point would otherwise be invisible.
                None if prev.is_none() => canvas.fill_rect(p.0 - 1, p.1 - 1, 4, 4, color),
                None => {}
            }
        }
    }

    // Legend in the top-right corner of the plot area.
    if !series.is_empty() {
        let rows = series.len() as i32;
        let name_w = series
            .iter()
            .map(|s| text_width(s.name, 1))
            .max()
            .unwrap_or(0);
        let box_w = 8 + 10 + 6 + name_w + 8;
        let box_h = 6 + rows * 14;
        let bx = area.right - 8 - box_w;
        let by = area.top + 8;
        canvas.fill_rect(bx, by, box_w, box_h, BACKGROUND);
        canvas.hline(bx, bx + box_w - 1, by, LEGEND_BORDER);
        canvas.hline(bx, bx + box_w - 1, by + box_h - 1, LEGEND_BORDER);
        canvas.vline(bx, by, by + box_h - 1, LEGEND_BORDER);
        canvas.vline(bx + box_w - 1, by, by + box_h - 1, LEGEND_BORDER);
        for (i, s) in series.iter().enumerate() {
            let ry = by + 4 + i as i32 * 14;
            canvas.fill_rect(bx + 8, ry, 10, 10, Rgb(s.color));
            canvas.text(bx + 8 + 10 + 6, ry + 2, s.name, 1, TEXT);
        }
    }
    Ok(canvas.img)
}

/// Inclusive pixel bounds of the plot area.
struct Area {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
}

/// An image plus a clip rectangle (inclusive), so drawing never needs bounds checks of its own.
struct Canvas {
    img: RgbImage,
    clip: (i32, i32, i32, i32),
}

impl Canvas {
    fn put(&mut self, x: i32, y: i32, c: Rgb<u8>) {
        let (x0, y0, x1, y1) = self.clip;
        if x >= x0 && x <= x1 && y >= y0 && y <= y1 {
            self.img.put_pixel(x as u32, y as u32, c);
        }
    }

    fn hline(&mut self, x0: i32, x1: i32, y: i32, c: Rgb<u8>) {
        for x in x0..=x1 {
            self.put(x, y, c);
        }
    }

    fn vline(&mut self, x: i32, y0: i32, y1: i32, c: Rgb<u8>) {
        for y in y0..=y1 {
            self.put(x, y, c);
        }
    }

    fn fill_rect(&mut self, x: i32, y: i32, w: i32, h: i32, c: Rgb<u8>) {
        for yy in y..y + h {
            self.hline(x, x + w - 1, yy, c);
        }
    }

    /// Bresenham's line with each step drawn as a 2x2 block: 2 px wide in every direction.
    fn thick_line(&mut self, (mut x, mut y): (i32, i32), (x1, y1): (i32, i32), c: Rgb<u8>) {
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
    fn text(&mut self, x: i32, y: i32, s: &str, scale: i32, c: Rgb<u8>) {
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

/// Width in pixels of `s` drawn at `scale` (5 px glyphs, 1 px gaps).
fn text_width(s: &str, scale: i32) -> i32 {
    let n = s.chars().count() as i32;
    if n == 0 {
        0
    } else {
        (n * 6 - 1) * scale
    }
}

/// Finite min/max of `values` widened by `margin` of the span on each side; a degenerate or
/// empty range becomes a small range around its value so the plot is still drawable.
fn padded_range(values: impl Iterator<Item = f32>, margin: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v as f64), hi.max(v as f64))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * margin;
    (lo - pad, hi + pad)
}

/// A tick value with just enough decimals to tell neighbouring ticks (`step` apart) apart;
/// scientific notation for very large or very small magnitudes.
fn format_tick(v: f64, step: f64) -> String {
    if v.abs() < step.abs() * 1e-6 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        return format!("{v:.2e}").to_uppercase();
    }
    let decimals = (1 - step.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".into()
    } else {
        s
    }
}

/// The 5x7 bitmap of `c`: seven rows, bit 4 is the leftmost column. Lowercase letters are
/// drawn as uppercase; characters without a glyph as `?`.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        ' ' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '+' => [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        '=' => [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
    }
}

#[cfg(test)]
mod tests;
