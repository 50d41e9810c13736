//! Loss curves as PNG line plots, drawn pixel by pixel on an `RgbImage`.
//!
//! A plotting crate would pull in fonts and a large dependency tree for a picture that only
//! needs axes, a few polylines and some numbers, so this module carries its own bitmap font,
//! line rasteriser and tick choice.

mod canvas;
mod font;
mod ticks;

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::error::{Error, Result};
use canvas::{Area, Canvas};
use font::text_width;
use ticks::{finite_range, format_tick, nice_ticks, Ticks};

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
/// The least room between two grid lines, so their labels never crowd.
const MIN_TICK_GAP_X: i32 = 80;
const MIN_TICK_GAP_Y: i32 = 48;

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

/// A labelled step drawn as a dashed vertical line across the plot (a stage boundary).
#[derive(Clone, Copy, Debug)]
pub struct Mark<'a> {
    /// Where on the x axis.
    pub x: f32,
    /// Written beside the line, at the top.
    pub label: &'a str,
}

/// Colour of the marks.
const MARK: Rgb<u8> = Rgb([120, 120, 120]);

/// What the y axis spans.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum YRange {
    /// The finite values of all series, widened to round ticks.
    #[default]
    Data,
    /// A fixed range whatever the data (0 to 1 for probabilities); curves outside it are
    /// clipped.
    Fixed(f32, f32),
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
    let img = draw(
        title,
        x_label,
        series,
        xs,
        YRange::Data,
        &[],
        DEFAULT_WIDTH,
        DEFAULT_HEIGHT,
    )
    .map_err(|message| Error::Image {
        path: path.to_path_buf(),
        message,
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
/// Every series must have one value per entry of `xs`. Both axes end on round ticks (steps of
/// 1, 2 or 5 × 10^k) around the finite values; non-finite values (and points whose x is
/// non-finite) are skipped and break the line, so a diverged run shows where it diverged.
pub fn line_plot(
    title: &str,
    x_label: &str,
    series: &[Series],
    xs: &[f32],
    width: u32,
    height: u32,
) -> Result<RgbImage> {
    line_plot_in(title, x_label, series, xs, YRange::Data, width, height)
}

/// [`line_plot`] with the y axis spanning `y`.
pub fn line_plot_in(
    title: &str,
    x_label: &str,
    series: &[Series],
    xs: &[f32],
    y: YRange,
    width: u32,
    height: u32,
) -> Result<RgbImage> {
    line_plot_marked(title, x_label, series, xs, y, &[], width, height)
}

/// [`line_plot_in`] with `marks` drawn across it.
#[allow(clippy::too_many_arguments)]
pub fn line_plot_marked(
    title: &str,
    x_label: &str,
    series: &[Series],
    xs: &[f32],
    y: YRange,
    marks: &[Mark],
    width: u32,
    height: u32,
) -> Result<RgbImage> {
    draw(title, x_label, series, xs, y, marks, width, height)
        .map_err(|detail| Error::shape("line_plot", detail))
}

/// A panel of text in place of a plot: `title` at the top, then `value` large and `note`
/// below it, centred. For a figure measured once, where a lone dot on an arbitrary axis
/// would say less than the number.
pub fn text_panel(
    title: &str,
    value: &str,
    note: &str,
    width: u32,
    height: u32,
) -> Result<RgbImage> {
    check_size(width, height).map_err(|detail| Error::shape("text_panel", detail))?;
    let mut canvas = Canvas {
        img: RgbImage::from_pixel(width, height, BACKGROUND),
        clip: (0, 0, width as i32 - 1, height as i32 - 1),
    };
    let (w, h) = (width as i32, height as i32);
    let centred = |s: &str, scale: i32| (w - text_width(s, scale)) / 2;
    canvas.text(centred(title, 2), (MARGIN_TOP - 14) / 2, title, 2, TEXT);
    // The value at 4x and the note at 2x with a gap between, centred in the space below.
    let block = 7 * 4 + 16 + 7 * 2;
    let top = MARGIN_TOP + (h - MARGIN_TOP - block) / 2;
    canvas.text(centred(value, 4), top, value, 4, TEXT);
    canvas.text(centred(note, 2), top + 7 * 4 + 16, note, 2, TEXT);
    Ok(canvas.img)
}

fn check_size(width: u32, height: u32) -> std::result::Result<(), String> {
    if width < MIN_WIDTH || height < MIN_HEIGHT || width > 16384 || height > 16384 {
        return Err(format!(
            "plot size {width}x{height} is out of range: expected {MIN_WIDTH}x{MIN_HEIGHT} to \
             16384x16384"
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw(
    title: &str,
    x_label: &str,
    series: &[Series],
    xs: &[f32],
    y: YRange,
    marks: &[Mark],
    width: u32,
    height: u32,
) -> std::result::Result<RgbImage, String> {
    check_size(width, height)?;
    if let Some(s) = series.iter().find(|s| s.values.len() != xs.len()) {
        return Err(format!(
            "series {:?} has {} values but there are {} x positions",
            s.name,
            s.values.len(),
            xs.len()
        ));
    }
    if let YRange::Fixed(lo, hi) = y {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(format!(
                "y range ({lo}, {hi}) must be finite and increasing"
            ));
        }
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
    let intervals = |pixels: i32, gap: i32| (pixels / gap).clamp(2, 10) as usize;
    let max_x = intervals(area.right - area.left, MIN_TICK_GAP_X);
    let max_y = intervals(area.bottom - area.top, MIN_TICK_GAP_Y);

    // Steps are whole numbers: ticks between them would say 1.5 steps.
    let whole = xs.iter().all(|x| !x.is_finite() || x.fract() == 0.0);
    let (lo, hi) = finite_range(xs.iter().copied());
    let tx = nice_ticks(lo, hi, max_x, whole);
    let ty = match y {
        YRange::Data => {
            let (lo, hi) = finite_range(series.iter().flat_map(|s| s.values.iter().copied()));
            nice_ticks(lo, hi, max_y, false)
        }
        YRange::Fixed(lo, hi) => {
            let fit = nice_ticks(lo as f64, hi as f64, max_y, false);
            // The ends stay where they were asked to be; the ticks fall inside them.
            Ticks {
                first: lo as f64,
                last: hi as f64,
                step: fit.step,
            }
        }
    };
    let (x0, x1, y0, y1) = (tx.first, tx.last, ty.first, ty.last);
    let px_of = |x: f64| {
        area.left + ((x - x0) / (x1 - x0) * (area.right - area.left) as f64).round() as i32
    };
    let py_of = |y: f64| {
        area.bottom - ((y - y0) / (y1 - y0) * (area.bottom - area.top) as f64).round() as i32
    };

    // Grid lines with tick labels, then the axes over them.
    for v in ty.values() {
        let py = py_of(v);
        canvas.hline(area.left, area.right, py, GRID);
        let label = format_tick(v, ty.step);
        let w = text_width(&label, 1);
        canvas.text(area.left - 6 - w, py - 3, &label, 1, TEXT);
        canvas.hline(area.left - 4, area.left - 1, py, AXIS);
    }
    for v in tx.values() {
        let px = px_of(v);
        canvas.vline(px, area.top, area.bottom, GRID);
        let label = format_tick(v, tx.step);
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

    // Marks under the curves, clipped to the plot area like them.
    canvas.clip = (area.left, area.top, area.right, area.bottom);
    for m in marks.iter().filter(|m| m.x.is_finite()) {
        let px = px_of(m.x as f64);
        if px < area.left || px > area.right {
            continue;
        }
        for y in (area.top..area.bottom).step_by(6) {
            canvas.vline(px, y, (y + 2).min(area.bottom), MARK);
        }
        canvas.text(px + 3, area.top + 3, m.label, 1, MARK);
    }

    // Curves, clipped to the plot area.
    let to_px = |x: f32, y: f32| -> Option<(i32, i32)> {
        (x.is_finite() && y.is_finite()).then(|| (px_of(x as f64), py_of(y as f64)))
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
    legend(&mut canvas, &area, series);
    Ok(canvas.img)
}

/// The series' names and colours in the top-right corner of the plot area.
fn legend(canvas: &mut Canvas, area: &Area, series: &[Series]) {
    if series.is_empty() {
        return;
    }
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

#[cfg(test)]
mod tests;
