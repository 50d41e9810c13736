//! Slanted Land, the first lesson's GAN: 2×2 images where a "face" is a backslash (dark
//! top-left and bottom-right pixels, light top-right and bottom-left). Pixel value 0 is white
//! and 1 is black. One-layer G from a scalar z ~ U(0, 1), one-layer D, log loss, plain SGD.

use crate::gan::{Noise, TrainerConfig};
use crate::philox;
use crate::{Init, Optimizer, Sequential};

/// Pixels of one image, row-major: top-left, top-right, bottom-left, bottom-right.
pub const PIXELS: usize = 4;

/// `count` faces with some jitter: diagonal pixels in [0.75, 1], the others in [0, 0.25];
/// as bytes (0 = white, 255 = black) for [`Dataset::from_bytes`](crate::Dataset::from_bytes).
pub fn faces(count: usize, seed: u64) -> Vec<u8> {
    (0..(count * PIXELS) as u32)
        .map(|i| {
            let jitter = philox::to_unit(philox::draw(seed, 0, 0xFACE, i)[0]) * 0.25;
            let v = if matches!(i % 4, 0 | 3) {
                1.0 - jitter
            } else {
                jitter
            };
            (v * 255.0).round() as u8
        })
        .collect()
}

/// `count` noise images: every pixel uniform in [0, 1].
pub fn noise_images(count: usize, seed: u64) -> Vec<f32> {
    (0..(count * PIXELS) as u32)
        .map(|i| philox::to_unit(philox::draw(seed, 0, 0x0015E, i)[0]))
        .collect()
}

/// G: z (1 value) → 4 pixels through a sigmoid.
pub fn generator() -> Sequential {
    Sequential::new([1])
        .init(Init::Normal(1.0))
        .linear(PIXELS)
        .sigmoid()
}

/// D: 4 pixels → 1 logit (the sigmoid is inside the log loss).
pub fn discriminator() -> Sequential {
    Sequential::new([PIXELS]).init(Init::Normal(1.0)).linear(1)
}

/// Plain SGD, z ~ U(0, 1), batch 8.
pub fn config(seed: u64) -> TrainerConfig {
    TrainerConfig {
        batch: 8,
        seed,
        noise: Noise::Uniform {
            low: 0.0,
            high: 1.0,
        },
        g_optimizer: Optimizer::sgd(0.5),
        d_optimizer: Optimizer::sgd(0.5),
        readback_every: 25,
        sample_count: 16,
        ..TrainerConfig::dcgan()
    }
}

/// Whether an image is a face: both diagonal pixels darker than both off-diagonal ones by
/// at least `margin`.
pub fn is_face(img: &[f32], margin: f32) -> bool {
    img[0].min(img[3]) - img[1].max(img[2]) >= margin
}
