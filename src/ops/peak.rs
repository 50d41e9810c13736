//! The adapter's FMA-only throughput for the GEMM kernel's shape (its workgroup width and
//! register tile): the ceiling that benchmarks report their kernels against.

use super::u;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `peak.wgsl`'s parameters.
    pub(crate) struct PeakParams for Peak::Params {
        invocations: u32,
        iters: u32,
        s: f32,
        t: f32,
    }
}

/// Accumulators per invocation: the GEMM's 8 × 4 vec4 tile.
pub const FLOATS_PER_INVOCATION: usize = 8 * 4 * 4;

/// A dispatch of `out.len()` invocations, each running `iters` rounds of `acc ← acc·s + t_k`
/// on its register tile and writing the sum of its accumulators into `out`. Its work is
/// [`flop`]`(out.len(), iters)`.
pub fn fma_peak(gpu: &Gpu, iters: usize, (s, t): (f32, f32), out: &Tensor) -> Result<Kernel> {
    if iters == 0 || iters > u32::MAX as usize {
        return Err(Error::shape("fma_peak", "iterations must be 1 to 2^32 − 1"));
    }
    // The GEMM's workgroup width on this adapter's layouts.
    let wg = if gpu.cpu_layouts() { 8 } else { 64 };
    let params = PeakParams {
        invocations: u(out.len()),
        iters: u(iters),
        s,
        t,
    };
    let spec = KernelSpec::new(Shader::Peak, "fma_peak").constant("WG", wg as f64);
    gpu.kernel(
        spec,
        &[Bind::params(&params), Bind::Write(out)],
        out.len().div_ceil(wg) as u32,
    )
}

/// Floating-point operations of [`fma_peak`] over `invocations` for `iters` rounds.
pub fn flop(invocations: usize, iters: usize) -> f64 {
    2.0 * FLOATS_PER_INVOCATION as f64 * invocations as f64 * iters as f64
}

/// What invocation sums to, computed on the CPU in f64: the recurrence of every accumulator
/// (accumulator k of 128 adds t·(1 + k/4)·2^−(k mod 4)).
pub fn reference(iters: usize, s: f64, t: f64) -> f64 {
    (0..FLOATS_PER_INVOCATION)
        .map(|k| {
            let add = t * (1 + k / 4) as f64 * 0.5f64.powi((k % 4) as i32);
            (0..iters).fold(0.0, |acc, _| acc * s + add)
        })
        .sum()
}
