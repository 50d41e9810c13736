//! Spectral normalisation's kernels (`shaders/spectral.wgsl`): a power iteration that
//! estimates the weight's largest singular value σ, the weight used at W/σ, and the exact
//! gradient through σ. The CPU versions are in `src/reference/spectral.rs`.

use super::{groups_256, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// The spectral kernels' parameters: the matrix's shape and a flag (iterate; accumulate).
    pub(crate) struct SpectralParams for Spectral::Params {
        rows: u32,
        cols: u32,
        flag: u32,
        pad: u32,
    }
}

/// W as a `[rows, cols]` matrix: its first axis against the rest.
pub fn matrix(w: &Tensor) -> (usize, usize) {
    let rows = w.shape()[0];
    (rows, w.len() / rows)
}

fn params(w: &Tensor, flag: bool) -> SpectralParams {
    let (rows, cols) = matrix(w);
    SpectralParams {
        rows: u(rows),
        cols: u(cols),
        flag: flag as u32,
        pad: 0,
    }
}

/// One power iteration from the kept `u` (when `iterate`; else the kept `u` and `v` as they
/// are): the tape's `u'`, `v'` and σ = u'ᵀWv' into `snapshot`, and u', v' kept when iterating.
pub fn power(
    gpu: &Gpu,
    w: &Tensor,
    (u_kept, v_kept): (&Tensor, &Tensor),
    snapshot: (&Tensor, &Tensor, &Tensor),
    iterate: bool,
) -> Result<Kernel> {
    let (rows, cols) = matrix(w);
    let (su, sv, sigma) = snapshot;
    if u_kept.len() != rows || su.len() != rows || v_kept.len() != cols || sv.len() != cols {
        return Err(Error::shape(
            "spectral norm",
            format!(
                "u and v must hold {rows} and {cols} values for a weight {:?}",
                w.shape()
            ),
        ));
    }
    gpu.kernel(
        KernelSpec::new(Shader::Spectral, "sn_power"),
        &[
            Bind::params(&params(w, iterate)),
            Bind::Read(w),
            Bind::Write(u_kept),
            Bind::Write(v_kept),
            Bind::Write(su),
            Bind::Write(sv),
            Bind::Write(sigma),
        ],
        1,
    )
}

/// `used = W/σ`.
pub fn scale(gpu: &Gpu, w: &Tensor, sigma: &Tensor, used: &Tensor) -> Result<Kernel> {
    gpu.kernel(
        KernelSpec::new(Shader::Spectral, "sn_scale"),
        &[
            Bind::params(&params(w, false)),
            Bind::Read(w),
            Bind::Read(sigma),
            Bind::Write(used),
        ],
        groups_256(w.len()),
    )
}

/// The stored weight's gradient from `g`, the gradient of `used` = W/σ:
/// `dw (+)= (g − ⟨g, used⟩·u'v'ᵀ)/σ`.
pub fn backward(
    gpu: &Gpu,
    (used, g): (&Tensor, &Tensor),
    snapshot: (&Tensor, &Tensor, &Tensor),
    dw: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let (su, sv, sigma) = snapshot;
    gpu.kernel(
        KernelSpec::new(Shader::Spectral, "sn_backward"),
        &[
            Bind::params(&params(used, accumulate)),
            Bind::Read(used),
            Bind::Read(g),
            Bind::Read(su),
            Bind::Read(sv),
            Bind::Read(sigma),
            Bind::Write(dw),
        ],
        1,
    )
}
