//! Maxout over `pieces` consecutive values.

use super::{groups_256, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `maxout.wgsl`'s parameters (`units` is unused).
    pub(crate) struct MaxoutParams for Maxout::Params { units: u32, total: u32, pieces: u32 }
}

fn check(x: &Tensor, y: &Tensor, pieces: usize) -> Result<()> {
    if pieces == 0 || x.len() != y.len() * pieces {
        return Err(Error::shape(
            "maxout",
            format!(
                "input {:?} is not {pieces} pieces of output {:?}",
                x.shape(),
                y.shape()
            ),
        ));
    }
    Ok(())
}

/// `y[o] = max_j x[o·pieces + j]`.
pub fn forward(gpu: &Gpu, x: &Tensor, y: &Tensor, pieces: usize) -> Result<Kernel> {
    check(x, y, pieces)?;
    let params = MaxoutParams {
        units: 0,
        total: u(y.len()),
        pieces: u(pieces),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Maxout, "maxout_fwd"),
        &[Bind::params(&params), Bind::Read(x), Bind::Write(y)],
        groups_256(y.len()),
    )
}

/// `dx` is `dy` at each group's first maximum, 0 elsewhere.
pub fn backward(gpu: &Gpu, x: &Tensor, dy: &Tensor, dx: &Tensor, pieces: usize) -> Result<Kernel> {
    check(x, dy, pieces)?;
    check(dx, dy, pieces)?;
    let params = MaxoutParams {
        units: 0,
        total: u(dy.len()),
        pieces: u(pieces),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Maxout, "maxout_bwd"),
        &[
            Bind::params(&params),
            Bind::Read(x),
            Bind::Write(dx),
            Bind::Read(dy),
        ],
        groups_256(dy.len()),
    )
}
