//! Weight constraints applied after an optimiser step.

use super::{f, u};
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

/// Rescales each row of `w` (`[out, in]`: one unit's incoming weights) to norm ≤ `max_norm`.
pub fn max_norm(gpu: &Gpu, w: &Tensor, max_norm: f32) -> Result<Kernel> {
    if max_norm.is_nan() || max_norm <= 0.0 {
        return Err(Error::Config(format!(
            "max norm must be positive, got {max_norm}"
        )));
    }
    let rows = w.shape()[0];
    let params = [u(rows), u(w.len() / rows), f(max_norm)];
    gpu.kernel(
        KernelSpec::new(Shader::MaxNorm, "max_norm"),
        &[Bind::Params(&params), Bind::Write(w)],
        rows.div_ceil(64) as u32,
    )
}
