//! What a GAN run logs: every step's losses and D's outputs, and now and then the quality of
//! its samples. Plain data, shared by the trainers that log them and the files that keep them.

use crate::eval::pyramid::LEVELS;
use crate::step::Row;

/// Names of the GAN metric slots, in slot order.
pub(crate) const GAN_SLOTS: [&str; 7] = [
    "D loss",
    "G loss",
    "D(x)",
    "D(G(z)) in the D step",
    "D(G(z)) in the G step",
    "D's gradient penalty",
    "mean norm of D's input gradient",
];
pub(crate) const D_LOSS: usize = 0;
pub(crate) const G_LOSS: usize = 1;
pub(crate) const D_REAL: usize = 2;
pub(crate) const D_FAKE: usize = 3;
pub(crate) const D_FAKE_G: usize = 4;
pub(crate) const PENALTY: usize = 5;
pub(crate) const GRAD_NORM: usize = 6;

/// The values logged for one training step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepMetrics {
    /// 1-based step number.
    pub step: u64,
    /// D's loss on the real batch plus its loss on the fake batch: BCE(D(x), 1) +
    /// BCE(D(G(z)), 0) by default, against the smoothed or flipped targets when configured,
    /// or the hinge loss.
    pub d_loss: f32,
    /// The generator's loss.
    pub g_loss: f32,
    /// Mean D(x) = σ(logit) on the real batch (σ of the logits under the hinge loss too).
    pub d_real: f32,
    /// Mean D(G(z)) in the discriminator step (on its fake batch, replayed samples included).
    pub d_fake: f32,
    /// Mean D(G(z)) in the generator step (after D's update).
    pub d_fake_g: f32,
    /// D's gradient penalty in its last D step (not part of `d_loss`); 0 without one. A lazy
    /// penalty's skipped iterations repeat the last penalised one's.
    pub penalty: f32,
    /// The mean over samples of ‖∂D/∂x‖ where the penalty is taken; 0 without one.
    pub grad_norm: f32,
}

impl Row for StepMetrics {
    fn from_slots(step: u64, v: &[f32]) -> Self {
        StepMetrics {
            step,
            d_loss: v[D_LOSS],
            g_loss: v[G_LOSS],
            d_real: v[D_REAL],
            d_fake: v[D_FAKE],
            d_fake_g: v[D_FAKE_G],
            // Checkpoints from before the penalties have 5 slots.
            penalty: v.get(PENALTY).copied().unwrap_or(0.0),
            grad_norm: v.get(GRAD_NORM).copied().unwrap_or(0.0),
        }
    }

    fn step(&self) -> u64 {
        self.step
    }

    fn slots(&self) -> Vec<f32> {
        vec![
            self.d_loss,
            self.g_loss,
            self.d_real,
            self.d_fake,
            self.d_fake_g,
            self.penalty,
            self.grad_norm,
        ]
    }
}

/// Sample quality measured at one step of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QualityPoint {
    /// The 1-based step measured at.
    pub step: u64,
    /// Samples the figures were computed from.
    pub n: usize,
    /// Fréchet distance of classifier features to the real digits (lower is better).
    pub fid: f64,
    /// Inception-style score (higher is better).
    pub score: f64,
    /// Digit classes among the samples.
    pub classes_covered: usize,
    /// Sliced Wasserstein distance to the real digits, ×10³, per pyramid level (28, 14 and 7
    /// pixels; lower is better), when it was measured (runs and checkpoints from before it
    /// was part of the measurements have none).
    pub swd: Option<[f64; LEVELS]>,
}

impl QualityPoint {
    /// The mean of the SWD's levels, when it was measured.
    pub fn swd_mean(&self) -> Option<f64> {
        self.swd.map(|l| l.iter().sum::<f64>() / LEVELS as f64)
    }
}
