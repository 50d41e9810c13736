//! A user's picture as a digit and back: any PNG (any size, colour or grey) becomes a 28×28
//! grey image, white ink on black as the bundled digits are; a picture of dark ink on light
//! paper is inverted on the way in, and its translation inverted back on the way out.

use std::path::Path;

use image::imageops::{self, FilterType};
use image::{GrayImage, Luma};

use crate::{Error, Result};

/// A picture read as a digit.
#[derive(Clone, Debug, PartialEq)]
pub struct DigitImage {
    /// `side × side` pixels in [0, 1], white ink on black.
    pub pixels: Vec<f32>,
    /// Whether the picture was dark on light (and so inverted).
    pub inverted: bool,
}

/// Reads the picture at `path` as a `side × side` digit: grey, padded to a square with its
/// background, resized (triangle filter), inverted when its mean is above one half.
pub fn load_digit(path: &Path, side: usize) -> Result<DigitImage> {
    let img = image::open(path).map_err(|e| Error::Data {
        path: path.to_path_buf(),
        message: format!("is not a picture that can be read: {e}"),
    })?;
    let grey = img.to_luma8();
    let (w, h) = grey.dimensions();
    let mean = grey.pixels().map(|p| p.0[0] as f64).sum::<f64>() / (w as f64 * h as f64);
    let inverted = mean > 127.5;
    // Pad to a square with the background's colour so the digit keeps its proportions.
    let background = if inverted { 255 } else { 0 };
    let n = w.max(h);
    let mut square = GrayImage::from_pixel(n, n, Luma([background]));
    imageops::overlay(
        &mut square,
        &grey,
        ((n - w) / 2) as i64,
        ((n - h) / 2) as i64,
    );
    let small = imageops::resize(&square, side as u32, side as u32, FilterType::Triangle);
    let pixels = small
        .pixels()
        .map(|p| {
            let v = p.0[0] as f32 / 255.0;
            if inverted {
                1.0 - v
            } else {
                v
            }
        })
        .collect();
    Ok(DigitImage { pixels, inverted })
}

/// Writes `pixels` (`side × side`, in [0, 1], white on black) as a grey PNG at `path`,
/// inverted back to dark on light when the picture it came from was; atomically.
pub fn save_digit(path: &Path, pixels: &[f32], side: usize, inverted: bool) -> Result<()> {
    if pixels.len() != side * side {
        return Err(Error::shape(
            "save_digit",
            format!("{} values are not a {side}×{side} image", pixels.len()),
        ));
    }
    let bytes: Vec<u8> = pixels
        .iter()
        .map(|&v| {
            let v = v.clamp(0.0, 1.0);
            let v = if inverted { 1.0 - v } else { v };
            (v * 255.0).round() as u8
        })
        .collect();
    super::grid::write_png_atomic(
        path,
        &bytes,
        side as u32,
        side as u32,
        image::ExtendedColorType::L8,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("counterfeit-digit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn a_dark_on_light_colour_picture_is_inverted_and_back() {
        // 40×20 white RGB with a black bar in the middle: padded to 40×40, then 28×28.
        let mut img = image::RgbImage::from_pixel(40, 20, image::Rgb([255, 255, 255]));
        for y in 8..12 {
            for x in 0..40 {
                img.put_pixel(x, y, image::Rgb([0, 0, 0]));
            }
        }
        let path = scratch("bar.png");
        img.save(&path).unwrap();
        let d = load_digit(&path, 28).unwrap();
        assert!(d.inverted);
        assert_eq!(d.pixels.len(), 28 * 28);
        // The bar is white ink at the middle row; the padded corners are black.
        assert!(d.pixels[14 * 28 + 14] > 0.9, "{}", d.pixels[14 * 28 + 14]);
        assert!(d.pixels[0] < 0.01 && d.pixels[27 * 28] < 0.01);
        let out = scratch("bar_out.png");
        save_digit(&out, &d.pixels, 28, true).unwrap();
        let back = image::open(&out).unwrap().to_luma8();
        assert_eq!(back.dimensions(), (28, 28));
        assert!(back.get_pixel(14, 14).0[0] < 25 && back.get_pixel(0, 0).0[0] > 250);
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let path = scratch("not_a_picture.png");
        std::fs::write(&path, b"hello").unwrap();
        let e = load_digit(&path, 28).unwrap_err().to_string();
        assert!(
            e.contains("not_a_picture.png") && e.contains("not a picture"),
            "{e}"
        );
        let e = load_digit(&scratch("missing.png"), 28)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.png"), "{e}");
    }
}
