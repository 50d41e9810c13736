//! The adapter's FMA-only throughput for a kernel's shape (its workgroup width and register
//! tile): the ceiling that benchmarks report their kernels against.

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

/// Whose register tile the probe keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeakShape {
    /// The vec4 GEMM's: 8 × 4 vec4 accumulators per invocation.
    Gemm,
    /// The convolutions' (CPU layouts): 32 output channels × 16 pixels of scalars.
    Conv,
}

impl PeakShape {
    /// Accumulators per invocation.
    pub fn floats(self) -> usize {
        match self {
            PeakShape::Gemm => 8 * 4 * 4,
            PeakShape::Conv => 32 * 16,
        }
    }

    fn entry(self) -> &'static str {
        match self {
            PeakShape::Gemm => "fma_peak",
            PeakShape::Conv => "fma_peak_conv",
        }
    }

    /// Accumulator `k`'s start and the term it adds every round, as the shader sets them up.
    fn chain(self, k: usize, t: f64) -> (f64, f64) {
        match self {
            // add[i][j] = t·(1 + 4i + j) times (1, 1/2, 1/4, 1/8) over the vec4.
            PeakShape::Gemm => (0.0, t * (1 + k / 4) as f64 * 0.5f64.powi((k % 4) as i32)),
            // Row i = k / 16 starts at t·i; column j = k % 16 adds t·(1 + j).
            PeakShape::Conv => (t * (k / 16) as f64, t * (1 + k % 16) as f64),
        }
    }
}

/// A dispatch of `out.len()` invocations, each running `iters` rounds of `acc ← acc·s + t_k`
/// on the register tile of `shape` and writing the sum of its accumulators into `out`. Its
/// work is [`flop`]`(shape, out.len(), iters)`.
pub fn fma_peak(
    gpu: &Gpu,
    shape: PeakShape,
    iters: usize,
    (s, t): (f32, f32),
    out: &Tensor,
) -> Result<Kernel> {
    if iters == 0 || iters > u32::MAX as usize {
        return Err(Error::shape("fma_peak", "iterations must be 1 to 2^32 − 1"));
    }
    // The kernels' workgroup width on this adapter's layouts.
    let wg = if gpu.cpu_layouts() { 8 } else { 64 };
    let params = PeakParams {
        invocations: u(out.len()),
        iters: u(iters),
        s,
        t,
    };
    let spec = KernelSpec::new(Shader::Peak, shape.entry()).constant("WG", wg as f64);
    gpu.kernel(
        spec,
        &[Bind::params(&params), Bind::Write(out)],
        out.len().div_ceil(wg) as u32,
    )
}

/// Floating-point operations of [`fma_peak`] over `invocations` for `iters` rounds.
pub fn flop(shape: PeakShape, invocations: usize, iters: usize) -> f64 {
    2.0 * shape.floats() as f64 * invocations as f64 * iters as f64
}

/// What an invocation sums to, computed on the CPU in f64: the recurrence of every
/// accumulator.
pub fn reference(shape: PeakShape, iters: usize, s: f64, t: f64) -> f64 {
    (0..shape.floats())
        .map(|k| {
            let (start, add) = shape.chain(k, t);
            (0..iters).fold(start, |acc, _| acc * s + add)
        })
        .sum()
}
