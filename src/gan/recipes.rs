//! The generators the examples train, so a checkpoint can be told apart and sampled with the
//! right noise, output range and image size.

use crate::gan::dcgan::{self, Arch};
use crate::gan::{mlp, Noise};
use crate::io::checkpoint::Checkpoint;
use crate::{Error, Result, Sequential};

/// A generator as an example trains it.
#[derive(Clone, Debug)]
pub struct Recipe {
    /// The example's name for it (`dcgan28`, `dcgan64`, `mlp`).
    pub name: &'static str,
    pub generator: Sequential,
    pub noise: Noise,
    /// The range of G's output pixels.
    pub range: (f32, f32),
    /// Image side (square, one channel).
    pub side: usize,
    /// The training batch: batch-norm generators are sampled in chunks of it.
    pub batch: usize,
}

/// Every recipe of the examples.
pub fn all() -> Vec<Recipe> {
    let dcgan = |arch: Arch| Recipe {
        name: arch.name(),
        generator: arch.generator(),
        noise: Noise::Normal,
        range: (-1.0, 1.0),
        side: arch.side(),
        batch: 64,
    };
    vec![
        dcgan(Arch::Dcgan28),
        dcgan(Arch::Dcgan64),
        Recipe {
            name: "mlp",
            generator: mlp::generator(28 * 28),
            noise: mlp::noise(),
            range: (0.0, 1.0),
            side: 28,
            batch: 100,
        },
    ]
}

/// The recipe called `name`.
pub fn by_name(name: &str) -> Result<Recipe> {
    all()
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| Error::Config(format!("no recipe {name:?}")))
}

/// The recipe whose generator is the one checkpoint `ckpt` holds under `G`.
pub fn identify(ckpt: &Checkpoint) -> Result<Recipe> {
    for r in all() {
        if ckpt.describes("G", &r.generator)? {
            return Ok(r);
        }
    }
    Err(Error::Config(format!(
        "the checkpoint's generator is none of the examples' ({})",
        all().iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
    )))
}

/// z size of every recipe.
pub const NZ: usize = dcgan::NZ;
