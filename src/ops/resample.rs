//! Resampling images by 2: nearest-neighbour up-sampling and 2×2 average pooling (stride 2),
//! forward and backward. Tensors are `planes` images (batch × channels) of `h × w` at full
//! size and `h/2 × w/2` (rounded down) at half size.

use super::{groups_256, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `resample.wgsl`'s parameters: values written and the full-size image's height and width.
    pub(crate) struct ResampleParams for Resample::Params { n: u32, h: u32, w: u32 }
}

/// The size of every image of a resampling: `planes` images, `h × w` at full size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planes {
    /// Images (batch × channels).
    pub planes: usize,
    /// Full-size height and width.
    pub h: usize,
    pub w: usize,
}

impl Planes {
    /// Values at full size.
    pub fn full_len(&self) -> usize {
        self.planes * self.h * self.w
    }

    /// Values at half size (odd rows and columns dropped).
    pub fn half_len(&self) -> usize {
        self.planes * (self.h / 2) * (self.w / 2)
    }

    fn check(&self, op: &str, full: &Tensor, half: &Tensor) -> Result<()> {
        if self.h < 2 || self.w < 2 {
            return Err(Error::shape(
                op,
                format!("{}×{} images have no 2×2 block", self.h, self.w),
            ));
        }
        if full.len() != self.full_len() || half.len() != self.half_len() {
            return Err(Error::shape(
                op,
                format!(
                    "{self:?} needs {} full-size and {} half-size values, got {:?} and {:?}",
                    self.full_len(),
                    self.half_len(),
                    full.shape(),
                    half.shape()
                ),
            ));
        }
        Ok(())
    }

    fn kernel(
        &self,
        gpu: &Gpu,
        entry: &'static str,
        n: usize,
        src: &Tensor,
        dst: &Tensor,
    ) -> Result<Kernel> {
        let params = ResampleParams {
            n: u(n),
            h: u(self.h),
            w: u(self.w),
        };
        gpu.kernel(
            KernelSpec::new(Shader::Resample, entry),
            &[Bind::params(&params), Bind::Read(src), Bind::Write(dst)],
            groups_256(n),
        )
    }
}

/// `y` (full size) from `x` (half size): each value repeated over a 2×2 block.
pub fn upsample_forward(gpu: &Gpu, g: Planes, x: &Tensor, y: &Tensor) -> Result<Kernel> {
    g.check("upsample", y, x)?;
    g.kernel(gpu, "upsample_fwd", g.full_len(), x, y)
}

/// `dx` (half size) from `dy` (full size): each 2×2 block of `dy` summed.
pub fn upsample_backward(gpu: &Gpu, g: Planes, dy: &Tensor, dx: &Tensor) -> Result<Kernel> {
    g.check("upsample backward", dy, dx)?;
    g.kernel(gpu, "upsample_bwd", g.half_len(), dy, dx)
}

/// `y` (half size) from `x` (full size): the mean of each 2×2 block.
pub fn avg_pool_forward(gpu: &Gpu, g: Planes, x: &Tensor, y: &Tensor) -> Result<Kernel> {
    g.check("avg_pool", x, y)?;
    g.kernel(gpu, "avgpool_fwd", g.half_len(), x, y)
}

/// `dx` (full size) from `dy` (half size): a quarter of `dy` on each value of its block, 0 on
/// a dropped odd row or column.
pub fn avg_pool_backward(gpu: &Gpu, g: Planes, dy: &Tensor, dx: &Tensor) -> Result<Kernel> {
    g.check("avg_pool backward", dx, dy)?;
    g.kernel(gpu, "avgpool_bwd", g.full_len(), dy, dx)
}
