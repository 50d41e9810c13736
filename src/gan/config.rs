//! What a trainer is configured with.

use crate::ops::optim::Optimizer;
use crate::ops::rng::Distribution;
use crate::{Error, Result};

/// The generator's loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GLoss {
    /// −log D(G(z)): strong gradients early in training (Goodfellow et al. 2014, §3).
    NonSaturating,
    /// log(1 − D(G(z))): the minimax game as written.
    Minimax,
}

/// The prior of z.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Noise {
    /// N(0, 1) in every dimension.
    Normal,
    /// U(low, high) in every dimension.
    Uniform { low: f32, high: f32 },
}

impl Noise {
    pub(crate) fn distribution(self) -> Distribution {
        match self {
            Noise::Normal => Distribution::Normal {
                mean: 0.0,
                std: 1.0,
            },
            Noise::Uniform { low, high } => Distribution::Uniform { low, high },
        }
    }
}

/// Everything a trainer needs besides the two models and the data.
#[derive(Clone, Debug)]
pub struct TrainerConfig {
    /// Samples per batch (real and fake alike).
    pub batch: usize,
    /// Seeds the parameters, the noise, the dropout masks and the data order.
    pub seed: u64,
    pub noise: Noise,
    pub g_optimizer: Optimizer,
    pub d_optimizer: Optimizer,
    /// Discriminator steps per generator step (k in Goodfellow et al. 2014).
    pub d_steps: usize,
    pub g_loss: GLoss,
    /// Metrics reach the CPU every this many steps (every step's values are kept on the GPU
    /// meanwhile).
    pub readback_every: usize,
    /// How many fixed-z samples [`Trainer::samples`](crate::Trainer::samples) draws.
    pub sample_count: usize,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self::dcgan()
    }
}

impl TrainerConfig {
    /// The DCGAN recipe: batch 64, z ~ N(0, 1), Adam 2e-4 (0.5, 0.999) for both, k = 1,
    /// non-saturating G loss.
    pub fn dcgan() -> Self {
        TrainerConfig {
            batch: 64,
            seed: 0,
            noise: Noise::Normal,
            g_optimizer: Optimizer::dcgan_adam(),
            d_optimizer: Optimizer::dcgan_adam(),
            d_steps: 1,
            g_loss: GLoss::NonSaturating,
            readback_every: 10,
            sample_count: 64,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.batch == 0 {
            return Err(Error::Config("batch must be at least 1".into()));
        }
        if self.d_steps == 0 {
            return Err(Error::Config("d_steps (k) must be at least 1".into()));
        }
        if self.readback_every == 0 {
            return Err(Error::Config("readback_every must be at least 1".into()));
        }
        if self.sample_count == 0 {
            return Err(Error::Config("sample_count must be at least 1".into()));
        }
        if let Noise::Uniform { low, high } = self.noise {
            if low.is_nan() || high.is_nan() || low >= high {
                return Err(Error::Config(format!(
                    "uniform noise needs low < high, got {low}..{high}"
                )));
            }
        }
        Ok(())
    }
}
