//! Pixelwise feature normalisation: each position's channel vector divided by its root mean
//! square (Karras et al. 2018, after every convolution of a progressive G).

use super::u;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `pixel_norm.wgsl`'s parameters.
    pub(crate) struct PixelNormParams for PixelNorm::Params {
        positions: u32,
        channels: u32,
        spatial: u32,
        eps: f32,
    }
}

/// `batch` samples of `channels` channels at `spatial` positions each (`[N, C, H·W]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelNormGeom {
    /// Samples.
    pub batch: usize,
    /// Channels normalised together.
    pub channels: usize,
    /// Positions per channel (1 for a flat feature vector).
    pub spatial: usize,
    /// Added to the mean square (the paper's 1e-8).
    pub eps: f32,
}

impl PixelNormGeom {
    fn len(&self) -> usize {
        self.batch * self.channels * self.spatial
    }

    fn params(&self) -> PixelNormParams {
        PixelNormParams {
            positions: u(self.batch * self.spatial),
            channels: u(self.channels),
            spatial: u(self.spatial),
            eps: self.eps,
        }
    }

    fn groups(&self) -> u32 {
        (self.batch * self.spatial).div_ceil(64) as u32
    }

    fn check(&self, op: &str, tensors: &[&Tensor]) -> Result<()> {
        if self.channels == 0 || self.eps.is_nan() || self.eps <= 0.0 {
            return Err(Error::shape(
                op,
                format!("{self:?}: needs channels and eps > 0"),
            ));
        }
        for t in tensors {
            if t.len() != self.len() {
                return Err(Error::shape(
                    op,
                    format!("{self:?} needs {} values, got {:?}", self.len(), t.shape()),
                ));
            }
        }
        Ok(())
    }
}

/// `y` = `x` divided by its root mean square over the channels at each position.
pub fn forward(gpu: &Gpu, g: PixelNormGeom, x: &Tensor, y: &Tensor) -> Result<Kernel> {
    g.check("pixel_norm", &[x, y])?;
    let params = g.params();
    gpu.kernel(
        KernelSpec::new(Shader::PixelNorm, "pixel_norm_fwd"),
        &[Bind::params(&params), Bind::Read(x), Bind::Write(y)],
        g.groups(),
    )
}

/// `dx` from `dy` and the forward's input `x`.
pub fn backward(
    gpu: &Gpu,
    g: PixelNormGeom,
    x: &Tensor,
    dy: &Tensor,
    dx: &Tensor,
) -> Result<Kernel> {
    g.check("pixel_norm backward", &[x, dy, dx])?;
    let params = g.params();
    gpu.kernel(
        KernelSpec::new(Shader::PixelNorm, "pixel_norm_bwd"),
        &[
            Bind::params(&params),
            Bind::Read(x),
            Bind::Write(dx),
            Bind::Read(dy),
        ],
        g.groups(),
    )
}
