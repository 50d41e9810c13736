//! Weight constraints applied after an optimiser step.

use super::u;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `max_norm.wgsl`'s parameters.
    pub(crate) struct MaxNormParams for MaxNorm::Params { rows: u32, cols: u32, max_norm: f32 }
}

/// Rescales each row of `w` (`[out, in]`: one unit's incoming weights) to norm ≤ `max_norm`.
pub fn max_norm(gpu: &Gpu, w: &Tensor, max_norm: f32) -> Result<Kernel> {
    if max_norm.is_nan() || max_norm <= 0.0 {
        return Err(Error::Config(format!(
            "max norm must be positive, got {max_norm}"
        )));
    }
    let rows = w.shape()[0];
    let params = MaxNormParams {
        rows: u(rows),
        cols: u(w.len() / rows),
        max_norm,
    };
    gpu.kernel(
        KernelSpec::new(Shader::MaxNorm, "max_norm"),
        &[Bind::params(&params), Bind::Write(w)],
        rows.div_ceil(64) as u32,
    )
}
