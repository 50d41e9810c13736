//! Instance normalisation: each (sample, channel) plane normalised by its own mean and
//! variance, then scaled and shifted per channel (Ulyanov et al. 2016; CycleGAN's generators).

use super::u;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `instance_norm.wgsl`'s parameters.
    pub(crate) struct InstanceNormParams for InstanceNorm::Params {
        planes: u32,
        channels: u32,
        spatial: u32,
        eps: f32,
        accumulate: u32,
        batch: u32,
    }
}

/// `batch` samples of `channels` planes of `spatial` positions each (`[N, C, H·W]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceNormGeom {
    /// Samples.
    pub batch: usize,
    /// Channels, each with its γ and β.
    pub channels: usize,
    /// Positions per plane.
    pub spatial: usize,
    /// Added to the variance (PyTorch's 1e-5).
    pub eps: f32,
}

impl InstanceNormGeom {
    fn len(&self) -> usize {
        self.batch * self.channels * self.spatial
    }

    fn params(&self, accumulate: bool) -> InstanceNormParams {
        InstanceNormParams {
            planes: u(self.batch * self.channels),
            channels: u(self.channels),
            spatial: u(self.spatial),
            eps: self.eps,
            accumulate: accumulate as u32,
            batch: u(self.batch),
        }
    }

    fn check(&self, op: &str, planes: &[&Tensor], per_channel: &[&Tensor]) -> Result<()> {
        if self.batch == 0 || self.channels == 0 || self.spatial == 0 {
            return Err(Error::shape(
                op,
                format!("{self:?}: every size must be at least 1"),
            ));
        }
        if self.eps.is_nan() || self.eps <= 0.0 {
            return Err(Error::shape(op, format!("{self:?}: eps must be positive")));
        }
        for (t, n) in planes
            .iter()
            .map(|t| (t, self.len()))
            .chain(per_channel.iter().map(|t| (t, self.channels)))
        {
            if t.len() != n {
                return Err(Error::shape(
                    op,
                    format!("{self:?} needs {n} values, got {:?}", t.shape()),
                ));
            }
        }
        Ok(())
    }
}

/// `y = γ·x̂ + β` with x̂ each plane of `x` normalised.
pub fn forward(
    gpu: &Gpu,
    g: InstanceNormGeom,
    x: &Tensor,
    (gamma, beta): (&Tensor, &Tensor),
    y: &Tensor,
) -> Result<Kernel> {
    g.check("instance_norm", &[x, y], &[gamma, beta])?;
    let params = g.params(false);
    gpu.kernel(
        KernelSpec::new(Shader::InstanceNorm, "instance_norm_fwd"),
        &[
            Bind::params(&params),
            Bind::Read(x),
            Bind::Write(y),
            Bind::Read(gamma),
            Bind::Read(beta),
        ],
        (g.batch * g.channels).div_ceil(64) as u32,
    )
}

/// `dx` from `dy`, the forward's input `x` and `gamma`.
pub fn backward_x(
    gpu: &Gpu,
    g: InstanceNormGeom,
    x: &Tensor,
    gamma: &Tensor,
    dy: &Tensor,
    dx: &Tensor,
) -> Result<Kernel> {
    g.check("instance_norm backward", &[x, dy, dx], &[gamma])?;
    let params = g.params(false);
    gpu.kernel(
        KernelSpec::new(Shader::InstanceNorm, "instance_norm_bwd_x"),
        &[
            Bind::params(&params),
            Bind::Read(x),
            Bind::Write(dx),
            Bind::Read(gamma),
            Bind::Read(dy),
        ],
        (g.batch * g.channels).div_ceil(64) as u32,
    )
}

/// γ's and β's gradients from `dy` and `x`, summed over the samples in order; written, or
/// added to what the buffers hold with `accumulate`.
pub fn backward_params(
    gpu: &Gpu,
    g: InstanceNormGeom,
    x: &Tensor,
    dy: &Tensor,
    (dgamma, dbeta): (&Tensor, &Tensor),
    accumulate: bool,
) -> Result<Kernel> {
    g.check(
        "instance_norm parameter gradients",
        &[x, dy],
        &[dgamma, dbeta],
    )?;
    let params = g.params(accumulate);
    gpu.kernel(
        KernelSpec::new(Shader::InstanceNorm, "instance_norm_bwd_params"),
        &[
            Bind::params(&params),
            Bind::Read(x),
            Bind::Write(dgamma),
            Bind::Read(dy),
            Bind::Write(dbeta),
        ],
        g.channels.div_ceil(64) as u32,
    )
}
