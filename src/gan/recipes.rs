//! The generators the examples train (cgan_mnist's conditional one too), so a checkpoint can be told apart and sampled with the
//! right noise, output range and image size.

use crate::gan::conditional::{self, generator_input};
use crate::gan::dcgan::{self, Arch};
use crate::gan::progressive::ProGan;
use crate::gan::{mlp, Noise};
use crate::io::checkpoint::Checkpoint;
use crate::nn::Graph;
use crate::{Error, Result};

/// A generator as an example trains it.
#[derive(Clone, Debug)]
pub struct Recipe {
    /// The example's name for it (`dcgan28`, `dcgan64`, `mlp`, `progan28`, `cgan28`).
    pub name: &'static str,
    /// The generator the recipe trains.
    pub generator: Graph,
    /// The prior of its z.
    pub noise: Noise,
    /// The range of G's output pixels.
    pub range: (f32, f32),
    /// Image side (square, one channel).
    pub side: usize,
    /// The training batch: batch-norm generators are sampled in chunks of it.
    pub batch: usize,
    /// Classes of a conditional generator (its input is z then a one-hot label); 0 for an
    /// unconditional one.
    pub classes: usize,
}

impl Recipe {
    /// Size of the latent vector z: G's input less a conditional generator's label.
    pub fn nz(&self) -> usize {
        self.generator.input_shape().iter().product::<usize>() - self.classes
    }

    /// G's input for the latent vectors `z` (whole multiples of [`Recipe::nz`]): `z` itself,
    /// or for a conditional generator each z with the one-hot of `labels[i % labels.len()]`,
    /// every class in turn when `labels` is empty.
    pub fn inputs(&self, z: &[f32], labels: &[u32]) -> Result<Vec<f32>> {
        let n = z.len() / self.nz();
        if self.classes == 0 {
            return Ok(z.to_vec());
        }
        let every: Vec<u32> = (0..self.classes as u32).collect();
        let cycle = if labels.is_empty() { &every } else { labels };
        let per_row: Vec<u32> = (0..n).map(|i| cycle[i % cycle.len()]).collect();
        generator_input(z, &per_row, self.classes)
    }
}

/// The conditional recipe's classes (cgan_mnist's digits).
const DIGITS: usize = 10;

/// Every recipe of the examples.
pub fn all() -> Vec<Recipe> {
    let dcgan = |arch: Arch| Recipe {
        name: arch.name(),
        generator: arch.generator().into(),
        noise: Noise::Normal,
        range: (-1.0, 1.0),
        side: arch.side(),
        batch: 64,
        classes: 0,
    };
    vec![
        dcgan(Arch::Dcgan28),
        dcgan(Arch::Dcgan64),
        Recipe {
            name: "mlp",
            generator: mlp::generator(28 * 28).into(),
            noise: mlp::noise(),
            range: (0.0, 1.0),
            side: 28,
            batch: 100,
            classes: 0,
        },
        Recipe {
            name: "progan28",
            generator: ProGan::mnist()
                .generator(2, None)
                .expect("the digits' progressive network builds"),
            noise: Noise::Normal,
            range: (-1.0, 1.0),
            side: 28,
            batch: 32,
            classes: 0,
        },
        Recipe {
            name: "cgan28",
            generator: conditional::dcgan28_generator(DIGITS).into(),
            noise: Noise::Normal,
            range: (-1.0, 1.0),
            side: 28,
            batch: 64,
            classes: DIGITS,
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
