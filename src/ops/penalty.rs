//! Gradient penalties on D's input gradient (`shaders/penalty.wgsl`): WGAN-GP's interpolates
//! between real and fake samples, and the penalty on the gradient's norm per sample with its
//! own gradient, which the second-order pass
//! ([`Tape::second_order`](crate::tape::Tape::second_order)) turns into D's. The CPU versions
//! are in `src/reference/penalty.rs`.

use super::stabilise::Draws;
use super::{groups_256, same_len, seed_words, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `interpolate`'s parameters: the layout and the draws.
    pub(crate) struct LerpParams for Penalty::LerpParams {
        n: u32,
        size: u32,
        seed_lo: u32,
        seed_hi: u32,
        stream: u32,
        t_mul: u32,
        t_add: u32,
        part: u32,
    }
}

shader_params! {
    /// `norm_penalty`'s parameters: the layout, the penalty and where it is logged.
    pub(crate) struct NormParams for Penalty::NormParams {
        batch: u32,
        size: u32,
        part: u32,
        weight: f32,
        center: f32,
        slot: u32,
        norm_slot: u32,
    }
}

/// `mixed = ε·a + (1 − ε)·b`, one ε ~ U[0, 1) per sample (the first axis) from `draws`, over
/// the first `part` values of each sample (`None`: all of them); the rest are `a`'s. A
/// conditional D's input mixes its images and keeps the real sample's label maps.
pub fn interpolate(
    gpu: &Gpu,
    draws: Draws,
    state: &Tensor,
    (a, b): (&Tensor, &Tensor),
    mixed: &Tensor,
    part: Option<usize>,
) -> Result<Kernel> {
    same_len("interpolate", a, b)?;
    same_len("interpolate", a, mixed)?;
    let size = a.len() / a.shape()[0];
    let part = checked_part("interpolate", part, size)?;
    let [lo, hi] = seed_words(draws.seed);
    let params = LerpParams {
        n: u(a.len()),
        size: u(size),
        seed_lo: lo,
        seed_hi: hi,
        stream: draws.stream,
        t_mul: draws.clock.mul,
        t_add: draws.clock.add,
        part: u(part),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Penalty, "interpolate"),
        &[
            Bind::params(&params),
            Bind::Read(state),
            Bind::Read(a),
            Bind::Read(b),
            Bind::Write(mixed),
        ],
        groups_256(a.len()),
    )
}

/// A penalty on the norm of each sample's gradient: `weight · mean (‖gᵢ‖ − center)²`.
/// WGAN-GP's is `weight` λ = 10 and `center` 1; R1's is `weight` γ/2 and `center` 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormPenalty {
    pub weight: f32,
    pub center: f32,
    /// The metric slot the penalty goes to; the mean ‖gᵢ‖ goes to the slot after it.
    pub slot: usize,
    /// The values of each sample that count (its first ones: a conditional D's image before
    /// its label maps); `None` for all.
    pub part: Option<usize>,
}

/// The penalty of `g` (`[batch, …]`) into `metrics`, and its gradient at `g` into `v`.
pub fn norm_penalty(
    gpu: &Gpu,
    penalty: NormPenalty,
    g: &Tensor,
    v: &Tensor,
    metrics: &Tensor,
) -> Result<Kernel> {
    same_len("norm penalty", g, v)?;
    if penalty.slot + 1 >= metrics.len() {
        return Err(Error::shape(
            "norm penalty",
            "metric slots outside the metrics buffer",
        ));
    }
    let batch = g.shape()[0];
    let size = g.len() / batch;
    let part = checked_part("norm penalty", penalty.part, size)?;
    let params = NormParams {
        batch: u(batch),
        size: u(size),
        part: u(part),
        weight: penalty.weight,
        center: penalty.center,
        slot: u(penalty.slot),
        norm_slot: u(penalty.slot + 1),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Penalty, "norm_penalty"),
        &[
            Bind::params(&params),
            Bind::Read(g),
            Bind::Write(v),
            Bind::Write(metrics),
        ],
        1,
    )
}

/// The leading values of each sample of `size` that `part` names (`None`: all), checked.
fn checked_part(op: &str, part: Option<usize>, size: usize) -> Result<usize> {
    match part.unwrap_or(size) {
        p if p == 0 || p > size => {
            Err(Error::shape(op, format!("{p} values of samples of {size}")))
        }
        p => Ok(p),
    }
}
