//! Counter-based random fills (Philox 4x32-10) from (seed, step, stream, index).

use super::{f, groups_256, seed_words, u, Clock};
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Gpu, Result, Tensor};

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
    let (entry, a, b) = match dist {
        Distribution::Bits => ("fill_bits", 0.0, 0.0),
        Distribution::Uniform { low, high } => ("fill_uniform", low, high),
        Distribution::Normal { mean, std } => ("fill_normal", mean, std),
    };
    let [lo, hi] = seed_words(seed);
    let params = [
        u(out.len()),
        lo,
        hi,
        stream,
        clock.mul,
        clock.add,
        f(a),
        f(b),
    ];
    gpu.kernel(
        KernelSpec::new(Shader::Rng, entry),
        &[Bind::Params(&params), Bind::Read(state), Bind::Write(out)],
        groups_256(out.len()),
    )
}
