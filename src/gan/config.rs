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
    /// The Wasserstein loss (Arjovsky et al. 2017; WGAN-GP's): the critic D minimises
    /// mean(D(G(z))) − mean(D(x)), G minimises −mean(D(G(z))); D's outputs are scores. A
    /// target t weighs a sample's score by 1 − 2t. It needs a Lipschitz bound on D: a
    /// gradient penalty ([`GradientPenalty::Interpolates`]) or spectral normalisation.
    Wasserstein,
}

/// A penalty on the norm of D's input gradient, added to D's loss in every D step; its
/// gradient with respect to D's parameters comes from a second-order pass through D
/// ([`Tape::second_order`](crate::tape::Tape::second_order)). D may not hold batch norm (the
/// penalty is per sample).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GradientPenalty {
    /// WGAN-GP (Gulrajani et al. 2017): λ · mean (‖∇D(x̂)‖ − 1)² at x̂ = εx + (1 − ε)G(z), ε ~
    /// U[0, 1) per sample, x and G(z) the batches D reads. The paper's λ is 10.
    Interpolates {
        /// λ.
        lambda: f32,
    },
    /// R1 (Mescheder et al. 2018): γ/2 · mean ‖∇D(x)‖² on the real batch. With `every` k > 1
    /// it is lazy (Karras et al. 2020): taken only in iterations 0, k, 2k, … and scaled by k.
    Real {
        /// γ.
        gamma: f32,
        /// Iterations per penalised iteration (1: every one).
        every: u32,
    },
}

impl GradientPenalty {
    /// The penalty's weight and centre for [`NormPenalty`](crate::ops::penalty::NormPenalty).
    pub(crate) fn weight_center(self) -> (f32, f32) {
        match self {
            GradientPenalty::Interpolates { lambda } => (lambda, 1.0),
            GradientPenalty::Real { gamma, every } => (gamma / 2.0 * every as f32, 0.0),
        }
    }

    /// Iterations per penalised iteration.
    pub(crate) fn every(self) -> u32 {
        match self {
            GradientPenalty::Interpolates { .. } => 1,
            GradientPenalty::Real { every, .. } => every,
        }
    }
}

impl GanLoss {
    /// The loss a command line names: `bce`, `hinge`, `lsgan` or `wasserstein`.
    pub fn parse(name: &str) -> Option<GanLoss> {
        match name {
            "bce" => Some(GanLoss::Bce),
            "hinge" => Some(GanLoss::Hinge),
            "lsgan" => Some(GanLoss::LeastSquares),
            "wasserstein" => Some(GanLoss::Wasserstein),
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
    /// A penalty on D's input gradient in every D step (WGAN-GP's or R1); `None` for none.
    pub penalty: Option<GradientPenalty>,
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
            penalty: None,
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
        if self.loss == GanLoss::Wasserstein && self.g_loss == GLoss::Minimax {
            return Err(Error::Config(
                "g_loss Minimax is a BCE loss; the Wasserstein G loss is −mean D(G(z)) (use NonSaturating)"
                    .into(),
            ));
        }
        match self.penalty {
            Some(GradientPenalty::Interpolates { lambda })
                if !(lambda > 0.0 && lambda.is_finite()) =>
            {
                return Err(Error::Config(format!(
                    "the gradient penalty's λ must be finite and above 0, got {lambda}"
                )));
            }
            Some(GradientPenalty::Real { gamma, every }) => {
                if !(gamma > 0.0 && gamma.is_finite()) {
                    return Err(Error::Config(format!(
                        "R1's γ must be finite and above 0, got {gamma}"
                    )));
                }
                if every == 0 {
                    return Err(Error::Config(
                        "R1's every (iterations per penalised one) must be at least 1".into(),
                    ));
                }
            }
            _ => {}
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
