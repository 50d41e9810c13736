//! The image transforms of `ops::morphology` on bytes, plain loops.

use crate::ops::morphology::Transform;

/// `transform` of each of the `count` images of `h`×`w` bytes in `images`.
pub fn transform(t: Transform, images: &[u8], h: usize, w: usize) -> Vec<u8> {
    let mut out = vec![0u8; images.len()];
    for (img, dst) in images.chunks(h * w).zip(out.chunks_mut(h * w)) {
        for y in 0..h {
            for x in 0..w {
                dst[y * w + x] = match t {
                    Transform::Pixelate(n) => {
                        let (y0, x0) = (y / n * n, x / n * n);
                        let (y1, x1) = ((y0 + n).min(h), (x0 + n).min(w));
                        let mut sum = 0u32;
                        for yy in y0..y1 {
                            for xx in x0..x1 {
                                sum += img[yy * w + xx] as u32;
                            }
                        }
                        let count = ((y1 - y0) * (x1 - x0)) as u32;
                        ((sum + count / 2) / count) as u8
                    }
                    _ => {
                        // The 3×3 neighbourhood, or the 2×2 block from the pixel down and right.
                        let back = usize::from(t != Transform::Erode2x2);
                        let mut near = Vec::new();
                        for yy in y.saturating_sub(back)..(y + 2).min(h) {
                            for xx in x.saturating_sub(back)..(x + 2).min(w) {
                                near.push(img[yy * w + xx]);
                            }
                        }
                        let (lo, hi) = (near.iter().min().unwrap(), near.iter().max().unwrap());
                        match t {
                            Transform::Erode | Transform::Erode2x2 => *lo,
                            Transform::Dilate => *hi,
                            _ => hi - lo,
                        }
                    }
                };
            }
        }
    }
    out
}
