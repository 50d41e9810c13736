//! Counter-based random fills (Philox 4x32-10) from (seed, step, stream, index).

use super::{groups_256, seed_words, u, Clock};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Gpu, Result, Tensor};

shader_params! {
    /// `rng.wgsl`'s parameters: the draws, and the distribution's two numbers.
    pub(crate) struct RngParams for Rng::Params {
        n: u32,
        seed_lo: u32,
        seed_hi: u32,
        stream: u32,
        t_mul: u32,
        t_add: u32,
        a: f32,
        b: f32,
        first: u32,
    }
}

/// A distribution to draw from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Raw 32-bit words, stored as f32 bit patterns (for tests).
    Bits,
    /// Uniform on [low, high).
    Uniform { low: f32, high: f32 },
    /// Normal with mean and standard deviation.
    Normal { mean: f32, std: f32 },
}

/// Fills `out` with draws; element i uses counter (i, step, stream) and key `seed`.
pub fn fill(
    gpu: &Gpu,
    dist: Distribution,
    seed: u64,
    stream: u32,
    clock: Clock,
    state: &Tensor,
    out: &Tensor,
) -> Result<Kernel> {
    fill_at(gpu, dist, (seed, stream, clock), 0, state, out)
}

/// As [`fill`] with element i drawing counter `first + i`: a data-parallel rank draws its
/// part of what one process would draw for the whole batch.
pub fn fill_at(
    gpu: &Gpu,
    dist: Distribution,
    (seed, stream, clock): (u64, u32, Clock),
    first: u32,
    state: &Tensor,
    out: &Tensor,
) -> Result<Kernel> {
    let (entry, a, b) = match dist {
        Distribution::Bits => ("fill_bits", 0.0, 0.0),
        Distribution::Uniform { low, high } => ("fill_uniform", low, high),
        Distribution::Normal { mean, std } => ("fill_normal", mean, std),
    };
    let [lo, hi] = seed_words(seed);
    let params = RngParams {
        n: u(out.len()),
        seed_lo: lo,
        seed_hi: hi,
        stream,
        t_mul: clock.mul,
        t_add: clock.add,
        a,
        b,
        first,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Rng, entry),
        &[Bind::params(&params), Bind::Read(state), Bind::Write(out)],
        groups_256(out.len()),
    )
}
