//! Sample grids: a batch of generated images tiled into one grayscale PNG, the quickest way
//! to see whether a GAN is learning.

use std::path::Path;

use image::{GrayImage, Luma};

use crate::error::{Error, Result};

/// Width of the dark border between and around tiles, in output pixels.
pub const BORDER: usize = 2;
/// Gray level of the border: dark enough to frame white-on-black digits without hiding them.
pub const BORDER_VALUE: u8 = 64;
/// Tiles are upscaled by an integer factor until their short side reaches this many pixels,
/// so 28x28 digits and 2x2 toy images alike are visible without a zoomable viewer.
pub const MIN_TILE_SIDE: usize = 56;
/// The lines between and around the tiles of a grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Width in output pixels.
    pub width: usize,
    /// Gray level.
    pub value: u8,
}

impl Frame {
    /// [`BORDER`] pixels of [`BORDER_VALUE`]: thin dark lines around white-on-black digits.
    pub const THIN: Frame = Frame {
        width: BORDER,
        value: BORDER_VALUE,
    };
    /// Wide mid-gray gaps, for tiles that span black to white edge to edge (images of a few
    /// pixels), against which a thin dark line disappears.
    pub const WIDE: Frame = Frame {
        width: 12,
        value: 150,
    };
}

/// Refuse grids above this many pixels (1 GiB): a wrong `count` should fail, not exhaust memory.
const MAX_PIXELS: usize = 1 << 30;

/// Tiles `count` single-channel images (row-major, `height * width` values each, image after
/// image) into a grid with at most `cols` columns (fewer when `count < cols`), mapping
/// `range.0..range.1` linearly to black..white (values outside are clamped, NaN is black).
/// Each pixel becomes a square block so that tiles are at least [`MIN_TILE_SIDE`] pixels on
/// their short side. Cells past `count` in the last row are left border-gray.
pub fn grid_image(
    images: &[f32],
    count: usize,
    height: usize,
    width: usize,
    cols: usize,
    range: (f32, f32),
) -> Result<GrayImage> {
    grid_image_checked(images, count, height, width, cols, range, Frame::THIN)
        .map_err(|detail| Error::shape("grid_image", detail))
}

/// Like [`grid_image`], then writes the grid as a grayscale PNG at `path`, atomically (via
/// `path` + `.tmp` and a rename) so a viewer polling the file never sees a partial image.
pub fn save_grid(
    path: &Path,
    images: &[f32],
    count: usize,
    height: usize,
    width: usize,
    cols: usize,
    range: (f32, f32),
) -> Result<()> {
    save_grid_framed(path, images, count, height, width, cols, range, Frame::THIN)
}

/// [`save_grid`] with the tiles separated by `frame`.
#[allow(clippy::too_many_arguments)]
pub fn save_grid_framed(
    path: &Path,
    images: &[f32],
    count: usize,
    height: usize,
    width: usize,
    cols: usize,
    range: (f32, f32),
    frame: Frame,
) -> Result<()> {
    let grid = grid_image_checked(images, count, height, width, cols, range, frame).map_err(
        |message| Error::Image {
            path: path.to_path_buf(),
            message,
        },
    )?;
    write_png_atomic(
        path,
        grid.as_raw(),
        grid.width(),
        grid.height(),
        image::ExtendedColorType::L8,
    )
}

/// The grid, or a message saying which argument is wrong.
fn grid_image_checked(
    images: &[f32],
    count: usize,
    height: usize,
    width: usize,
    cols: usize,
    range: (f32, f32),
    frame: Frame,
) -> std::result::Result<GrayImage, String> {
    if count == 0 {
        return Err("cannot tile zero images".into());
    }
    if cols == 0 {
        return Err("a grid needs at least one column (cols = 0)".into());
    }
    if height == 0 || width == 0 {
        return Err(format!("image size {height}x{width} has a zero side"));
    }
    let expected = count.checked_mul(height).and_then(|n| n.checked_mul(width));
    if expected != Some(images.len()) {
        return Err(format!(
            "{count} images of {height}x{width} need {} values but {} were given",
            expected.map_or_else(|| "too many".to_string(), |n| n.to_string()),
            images.len()
        ));
    }
    let (lo, hi) = range;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(format!(
            "value range ({lo}, {hi}) must be finite with range.0 < range.1"
        ));
    }

    let cols = cols.min(count);
    let rows = count.div_ceil(cols);
    let scale = MIN_TILE_SIDE.div_ceil(height.min(width)).max(1);
    let (tile_h, tile_w) = (height * scale, width * scale);
    let border = frame.width;
    let size = |n: usize, tile: usize| {
        n.checked_mul(tile + border)
            .and_then(|v| v.checked_add(border))
    };
    let (out_w, out_h) = match (size(cols, tile_w), size(rows, tile_h)) {
        (Some(w), Some(h)) if w.checked_mul(h).is_some_and(|p| p <= MAX_PIXELS) => (w, h),
        _ => {
            return Err(format!(
                "a grid of {rows}x{cols} tiles of {tile_h}x{tile_w} pixels is larger than \
                 {MAX_PIXELS} pixels"
            ))
        }
    };

    let mut grid = GrayImage::from_pixel(out_w as u32, out_h as u32, Luma([frame.value]));
    let inv = 255.0 / (hi - lo);
    for (i, img) in images.chunks_exact(height * width).enumerate() {
        let x0 = border + (i % cols) * (tile_w + border);
        let y0 = border + (i / cols) * (tile_h + border);
        for (y, row) in img.chunks_exact(width).enumerate() {
            for (x, &v) in row.iter().enumerate() {
                let level = if v.is_nan() {
                    0
                } else {
                    ((v - lo) * inv).clamp(0.0, 255.0).round() as u8
                };
                for dy in 0..scale {
                    for dx in 0..scale {
                        let px = (x0 + x * scale + dx) as u32;
                        let py = (y0 + y * scale + dy) as u32;
                        grid.put_pixel(px, py, Luma([level]));
                    }
                }
            }
        }
    }
    Ok(grid)
}

/// Encodes raw pixels as PNG and replaces `path` with them atomically, so readers see either
/// the old file or the new one.
pub(crate) fn write_png_atomic(
    path: &Path,
    pixels: &[u8],
    width: u32,
    height: u32,
    color: image::ExtendedColorType,
) -> Result<()> {
    use image::ImageEncoder;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(pixels, width, height, color)
        .map_err(|e| Error::Image {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    super::atomic::write_atomic(path, &png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_tiny_images_make_a_readable_png() {
        let dir = std::env::temp_dir().join(format!("counterfeit-grid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("grid.png");
        // Image 0 all at the low end, image 1 all at the high end, image 2 a ramp.
        let images = [
            -1.0, -1.0, -1.0, -1.0, //
            1.0, 1.0, 1.0, 1.0, //
            -1.0, 0.0, 1.0, 5.0,
        ];
        save_grid(&path, &images, 3, 2, 2, 2, (-1.0, 1.0)).unwrap();
        assert!(!dir.join("grid.png.tmp").exists());

        let img = image::open(&path).unwrap().to_luma8();
        // 2x2 pixels upscaled by 28 to 56x56 tiles; 2 columns, 2 rows, 2-px borders.
        let side = 2 * 56 + 3 * BORDER as u32;
        assert_eq!(img.dimensions(), (side, side));
        assert_eq!(img.get_pixel(0, 0)[0], BORDER_VALUE);
        assert_eq!(img.get_pixel(2, 2)[0], 0);
        assert_eq!(img.get_pixel(2 + 56 + 2 + 30, 30)[0], 255);
        // Third image: second pixel of the first row is mid-gray, last pixel is clamped.
        let (x0, y0) = (2, 2 + 56 + 2);
        assert_eq!(img.get_pixel(x0 + 28, y0)[0], 128);
        assert_eq!(img.get_pixel(x0 + 55, y0 + 55)[0], 255);
        // The unused fourth cell stays border-gray.
        assert_eq!(img.get_pixel(x0 + 58 + 20, y0 + 20)[0], BORDER_VALUE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_wide_frame_separates_tiles_that_fill_their_cells() {
        let dir = std::env::temp_dir().join(format!("counterfeit-frame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("framed.png");
        // Two 2x2 checkerboards side by side: their edges are black and white alike.
        let images = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        save_grid_framed(&path, &images, 2, 2, 2, 2, (0.0, 1.0), Frame::WIDE).unwrap();
        let img = image::open(&path).unwrap().to_luma8();
        let w = Frame::WIDE.width as u32;
        assert_eq!(img.dimensions(), (2 * 56 + 3 * w, 56 + 2 * w));
        // Every pixel of the gap between the tiles is the frame's gray, neither black nor
        // white like the tiles' edges on both sides of it.
        for x in w + 56..2 * w + 56 {
            for y in 0..img.height() {
                assert_eq!(img.get_pixel(x, y)[0], Frame::WIDE.value, "({x}, {y})");
            }
        }
        assert_eq!(
            img.get_pixel(w + 55, w)[0],
            255,
            "first tile's top-right pixel"
        );
        assert_eq!(
            img.get_pixel(2 * w + 56, w)[0],
            255,
            "second tile's top-left pixel"
        );
        assert!(![0, 255].contains(&Frame::WIDE.value));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_arguments_are_reported() {
        let path = Path::new("unused.png");
        let msg = |r: Result<()>| match r {
            Err(Error::Image { message, .. }) => message,
            other => panic!("expected Error::Image, got {other:?}"),
        };
        let m = msg(save_grid(path, &[0.0; 7], 2, 2, 2, 2, (0.0, 1.0)));
        assert!(m.contains('8') && m.contains('7'), "{m}");
        assert!(msg(save_grid(path, &[], 0, 2, 2, 2, (0.0, 1.0))).contains("zero"));
        assert!(msg(save_grid(path, &[0.0; 4], 1, 2, 2, 0, (0.0, 1.0))).contains("cols"));
        assert!(msg(save_grid(path, &[0.0; 4], 1, 2, 2, 1, (1.0, 1.0))).contains("range"));
        assert!(matches!(
            grid_image(&[0.0; 3], 1, 2, 2, 1, (0.0, 1.0)),
            Err(Error::Shape { .. })
        ));
        // 28x28 digits are upscaled 2x; 8 of them in 4 columns.
        let g = grid_image(&[0.5; 8 * 784], 8, 28, 28, 4, (0.0, 1.0)).unwrap();
        assert_eq!(g.dimensions(), (4 * 56 + 5 * 2, 2 * 56 + 3 * 2));
    }
}
