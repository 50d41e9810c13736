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

/// The adversarial loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GanLoss {
    /// Binary cross-entropy on D's logits (Goodfellow et al. 2014); `g_loss` picks G's form.
    Bce,
    /// Hinge loss (Lim & Ye 2017, Miyato et al. 2018): D minimises mean(relu(1 − D(x))) +
    /// mean(relu(1 + D(G(z)))), G minimises −mean(D(G(z))). With targets t other than 1 and 0
    /// (label smoothing, flips) a sample's D loss is t·relu(1 − D) + (1 − t)·relu(1 + D).
    Hinge,
    /// The least-squares loss (Mao et al. 2017, LSGAN; CycleGAN's): D minimises
    /// mean((D(x) − 1)²) + mean(D(G(z))²), G minimises mean((D(G(z)) − 1)²); D's outputs are
    /// scores, not logits. Smoothed or flipped targets t give (D − t)².
    LeastSquares,
}

impl GanLoss {
    /// The loss a command line names: `bce`, `hinge` or `lsgan`.
    pub fn parse(name: &str) -> Option<GanLoss> {
        match name {
            "bce" => Some(GanLoss::Bce),
            "hinge" => Some(GanLoss::Hinge),
            "lsgan" => Some(GanLoss::LeastSquares),
            _ => None,
        }
    }
}

/// The prior of z.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Noise {
    /// N(0, 1) in every dimension.
    Normal,
    /// U(low, high) in every dimension.
    Uniform {
        /// The lower end.
        low: f32,
        /// The upper end.
        high: f32,
    },
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
    /// The prior of z.
    pub noise: Noise,
    /// G's optimiser.
    pub g_optimizer: Optimizer,
    /// D's optimiser.
    pub d_optimizer: Optimizer,
    /// Discriminator steps per generator step (k in Goodfellow et al. 2014).
    pub d_steps: usize,
    /// The generator's form of the BCE loss (the hinge loss has one form).
    pub g_loss: GLoss,
    /// Metrics reach the CPU every this many steps (every step's values are kept on the GPU
    /// meanwhile).
    pub readback_every: usize,
    /// How many fixed-z samples [`GanRun::samples`](crate::gan::GanRun::samples) draws.
    pub sample_count: usize,
    /// The adversarial loss.
    pub loss: GanLoss,
    /// D's target for real samples: below 1 is one-sided label smoothing (Salimans et al.
    /// 2016, e.g. 0.9). Fakes keep target 0; G's targets are not smoothed.
    pub real_label: f32,
    /// Fraction of D's targets flipped each D step (a real sample gets 0, a fake one
    /// `real_label`), drawn on the GPU independently per sample.
    pub label_flip: f32,
    /// Standard deviation of Gaussian instance noise added to everything D reads (real and
    /// fake batches, in D's and G's steps) at the first iteration (Sønderby et al. 2017);
    /// 0 disables it.
    pub instance_noise: f32,
    /// Iterations over which the instance noise's σ falls linearly to exactly 0
    /// (σ_t = σ·(1 − t/steps), 0 from iteration `steps` on); 0 keeps σ constant.
    pub instance_noise_steps: u32,
    /// Fraction of D's fake batch replaced by earlier fakes drawn from a replay buffer
    /// (Shrivastava et al. 2017); round(fraction · batch) samples. 0 disables the buffer.
    pub replay_fraction: f32,
    /// Samples the replay buffer holds (a ring: each D step writes its fresh fakes after the
    /// oldest). Only allocated when `replay_fraction` > 0.
    pub replay_capacity: usize,
    /// Decay of an exponential moving average of G's weights (e.g. 0.999), updated after every
    /// G step; sampling and checkpoints (as `G_ema`) then use it. `None` keeps none.
    pub g_ema: Option<f32>,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self::dcgan()
    }
}

impl TrainerConfig {
    /// The DCGAN recipe: batch 64, z ~ N(0, 1), Adam 2e-4 (0.5, 0.999) for both, k = 1,
    /// BCE with the non-saturating G loss, and no stabilisation tricks.
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
            loss: GanLoss::Bce,
            real_label: 1.0,
            label_flip: 0.0,
            instance_noise: 0.0,
            instance_noise_steps: 0,
            replay_fraction: 0.0,
            replay_capacity: 1024,
            g_ema: None,
        }
    }

    /// Largest replay buffer (the replay kernel's limit).
    pub const MAX_REPLAY_CAPACITY: usize = crate::ops::stabilise::MAX_REPLAY_CAPACITY;

    /// Samples of D's fake batch that come from the replay buffer.
    pub fn replayed(&self) -> usize {
        (self.replay_fraction as f64 * self.batch as f64).round() as usize
    }

    /// Checks every field's range and their combinations; [`Trainer::new`](crate::Trainer::new)
    /// runs this first, so a configuration can be checked without a GPU.
    pub fn validate(&self) -> Result<()> {
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
        if !(self.real_label > 0.0 && self.real_label <= 1.0) {
            return Err(Error::Config(format!(
                "real_label must be in (0, 1], got {}",
                self.real_label
            )));
        }
        let fraction = |name: &str, v: f32| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::Config(format!("{name} must be in [0, 1], got {v}")))
            }
        };
        fraction("label_flip", self.label_flip)?;
        fraction("replay_fraction", self.replay_fraction)?;
        if !(self.instance_noise >= 0.0 && self.instance_noise.is_finite()) {
            return Err(Error::Config(format!(
                "instance_noise (a standard deviation) must be finite and at least 0, got {}",
                self.instance_noise
            )));
        }
        if self.replay_fraction > 0.0 {
            if self.replay_capacity == 0 || self.replay_capacity > Self::MAX_REPLAY_CAPACITY {
                return Err(Error::Config(format!(
                    "replay_capacity must be in 1..={} when replay_fraction > 0, got {}",
                    Self::MAX_REPLAY_CAPACITY,
                    self.replay_capacity
                )));
            }
            if self.replayed() == 0 {
                return Err(Error::Config(format!(
                    "replay_fraction {} of a batch of {} replaces no sample; use at least {}",
                    self.replay_fraction,
                    self.batch,
                    1.0 / self.batch as f32
                )));
            }
        }
        if let Some(decay) = self.g_ema {
            crate::gan::ema::check_decay(decay)?;
        }
        if self.loss == GanLoss::Hinge && self.g_loss == GLoss::Minimax {
            return Err(Error::Config(
                "g_loss Minimax is a BCE loss; the hinge loss's G loss is −mean D(G(z)) (use NonSaturating)"
                    .into(),
            ));
        }
        if self.loss == GanLoss::LeastSquares && self.g_loss == GLoss::Minimax {
            return Err(Error::Config(
                "g_loss Minimax is a BCE loss; the least-squares G loss is mean (D(G(z)) − 1)² (use NonSaturating)"
                    .into(),
            ));
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
