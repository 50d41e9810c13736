//! The networks of Goodfellow et al. (2014) on MNIST: an MLP generator (ReLU, sigmoid output
//! in [0, 1]) against a maxout discriminator with dropout and a max-norm constraint.

use crate::{Init, Noise, Sequential};

/// Size of z.
pub const NZ: usize = 100;

/// z ~ U(−√3, √3): unit variance, as the paper's uniform noise.
pub fn noise() -> Noise {
    Noise::Uniform {
        low: -(3f32.sqrt()),
        high: 3f32.sqrt(),
    }
}

/// G: z `[100]` → 1200 → 1200 → `pixels` in (0, 1).
pub fn generator(pixels: usize) -> Sequential {
    Sequential::new([NZ])
        .init(Init::Uniform(0.05))
        .linear(1200)
        .relu()
        .linear(1200)
        .relu()
        .linear(pixels)
        .sigmoid()
}

/// D: `pixels` → maxout 240×5 → maxout 240×5 → one logit, with dropout (keep 0.8 on the
/// input, 0.5 inside) and each unit's weights kept to norm ≤ 1.9365 (pylearn2's settings).
pub fn discriminator(pixels: usize) -> Sequential {
    Sequential::new([pixels])
        .init(Init::Uniform(0.005))
        .max_norm(1.9365)
        .dropout(0.8)
        .linear(240 * 5)
        .maxout(5)
        .dropout(0.5)
        .linear(240 * 5)
        .maxout(5)
        .dropout(0.5)
        .linear(1)
}
