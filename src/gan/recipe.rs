//! How `dcgan_mnist` (and `cgan_mnist`) train: the loss, D's layers and regulariser, and the
//! optimisers of each recipe, with its paper's settings. The generator is the same in all.

use crate::gan::dcgan::DOptions;
use crate::gan::{GanLoss, GradientPenalty, TrainerConfig};
use crate::{Error, Optimizer, Result};

/// A training recipe.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrainingRecipe {
    /// DCGAN (Radford et al. 2016): BCE with the non-saturating G loss, batch norm in D,
    /// Adam 2e-4 (0.5, 0.999), one D step per G step.
    Dcgan,
    /// SN-GAN (Miyato et al. 2018, their standard-CNN setting): the hinge loss, every weight of
    /// D spectrally normalised and no batch norm in it, Adam 2e-4 (0.5, 0.999), one D step,
    /// and a moving average of G's weights (decay 0.999).
    Sngan,
    /// WGAN-GP (Gulrajani et al. 2017): the Wasserstein loss, the gradient penalty at
    /// interpolates with λ, no batch norm in D, five D steps per G step, Adam 1e-4 (0, 0.9).
    WganGp {
        /// λ (the paper's 10).
        lambda: f32,
    },
    /// R1 (Mescheder et al. 2018): the non-saturating loss plus γ/2·‖∇D(x)‖² on real digits
    /// (taken every `every` iterations and scaled by it, lazily as StyleGAN2), no batch norm
    /// in D, DCGAN's Adam and one D step.
    R1 {
        /// γ.
        gamma: f32,
        /// Iterations per penalised one.
        every: u32,
    },
}

impl TrainingRecipe {
    /// The recipe a command line names (`dcgan`, `sngan`, `wgan-gp`, `r1`), with its paper's
    /// settings: λ = 10 for WGAN-GP, γ = 10 every iteration for R1.
    pub fn parse(name: &str) -> Result<TrainingRecipe> {
        match name {
            "dcgan" => Ok(TrainingRecipe::Dcgan),
            "sngan" => Ok(TrainingRecipe::Sngan),
            "wgan-gp" => Ok(TrainingRecipe::WganGp { lambda: 10.0 }),
            "r1" => Ok(TrainingRecipe::R1 {
                gamma: 10.0,
                every: 1,
            }),
            _ => Err(Error::Config(format!(
                "unknown recipe {name:?}: use dcgan, sngan, wgan-gp or r1"
            ))),
        }
    }

    /// The recipe with its regulariser's weights set: λ for WGAN-GP, γ and the lazy period
    /// for R1 (the others have none).
    pub fn with_weights(self, lambda: f32, gamma: f32, every: u32) -> TrainingRecipe {
        match self {
            TrainingRecipe::WganGp { .. } => TrainingRecipe::WganGp { lambda },
            TrainingRecipe::R1 { .. } => TrainingRecipe::R1 { gamma, every },
            r => r,
        }
    }

    /// The name a command line uses.
    pub fn name(self) -> &'static str {
        match self {
            TrainingRecipe::Dcgan => "dcgan",
            TrainingRecipe::Sngan => "sngan",
            TrainingRecipe::WganGp { .. } => "wgan-gp",
            TrainingRecipe::R1 { .. } => "r1",
        }
    }

    /// The learning rate both optimisers start from.
    pub fn lr(self) -> f32 {
        match self {
            TrainingRecipe::WganGp { .. } => 1e-4,
            _ => 2e-4,
        }
    }

    /// D's layers on top of `options` (the user's dropout and minibatch std).
    pub fn d_options(self, options: DOptions) -> DOptions {
        DOptions {
            no_batch_norm: self != TrainingRecipe::Dcgan,
            spectral_norm: self == TrainingRecipe::Sngan,
            ..options
        }
    }

    /// `config` with the recipe's loss, penalty, optimisers at `lr`, D steps and (SN-GAN)
    /// weight average. A weight average already configured is kept.
    pub fn apply(self, config: TrainerConfig, lr: f32) -> TrainerConfig {
        let adam = |beta1, beta2| Optimizer::Adam {
            lr,
            beta1,
            beta2,
            eps: 1e-8,
        };
        let dcgan = adam(0.5, 0.999);
        let (loss, penalty, optimizer, d_steps) = match self {
            TrainingRecipe::Dcgan => (config.loss, None, dcgan, config.d_steps),
            TrainingRecipe::Sngan => (GanLoss::Hinge, None, dcgan, config.d_steps),
            TrainingRecipe::WganGp { lambda } => (
                GanLoss::Wasserstein,
                Some(GradientPenalty::Interpolates { lambda }),
                adam(0.0, 0.9),
                5,
            ),
            TrainingRecipe::R1 { gamma, every } => (
                GanLoss::Bce,
                Some(GradientPenalty::Real { gamma, every }),
                dcgan,
                config.d_steps,
            ),
        };
        let g_ema = match self {
            TrainingRecipe::Sngan => config.g_ema.or(Some(0.999)),
            _ => config.g_ema,
        };
        TrainerConfig {
            loss,
            penalty,
            g_optimizer: optimizer,
            d_optimizer: optimizer,
            d_steps,
            g_ema,
            ..config
        }
    }
}
