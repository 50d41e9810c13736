//! Progressive growing's fade-in, `α·new + (1 − α)·old` with α rising linearly with the GPU
//! step counter, and its gradient: the recorded step stays the same while α moves.

use super::{groups_256, same_len, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `fade.wgsl`'s parameters.
    pub(crate) struct FadeParams for Fade::Params { n: u32, start: u32, steps: u32, complement: u32 }
}

/// When α rises: from 0 at iteration `start` to 1 at `start + steps` (iterations counted by
/// the step state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ramp {
    /// The iteration at which α leaves 0.
    pub start: u32,
    /// Iterations α takes to reach 1 (at least 1).
    pub steps: u32,
}

impl Ramp {
    /// α after `t` finished iterations.
    pub fn alpha(&self, t: u32) -> f32 {
        if t <= self.start {
            0.0
        } else if t - self.start >= self.steps {
            1.0
        } else {
            (t - self.start) as f32 / self.steps as f32
        }
    }

    fn params(&self, n: usize, complement: bool) -> Result<FadeParams> {
        if self.steps == 0 {
            return Err(Error::Config("a fade-in needs at least one step".into()));
        }
        Ok(FadeParams {
            n: u(n),
            start: self.start,
            steps: self.steps,
            complement: complement as u32,
        })
    }
}

/// `y = α·new + (1 − α)·old`, α from the step state `state`.
pub fn forward(
    gpu: &Gpu,
    ramp: Ramp,
    state: &Tensor,
    new: &Tensor,
    old: &Tensor,
    y: &Tensor,
) -> Result<Kernel> {
    same_len("fade", new, old)?;
    same_len("fade", new, y)?;
    let params = ramp.params(y.len(), false)?;
    gpu.kernel(
        KernelSpec::new(Shader::Fade, "fade_fwd"),
        &[
            Bind::params(&params),
            Bind::Read(state),
            Bind::Read(new),
            Bind::Write(y),
            Bind::Read(old),
        ],
        groups_256(y.len()),
    )
}

/// The gradient of one input: `α·dy` for the new branch, `(1 − α)·dy` for the old one
/// (`old` true).
pub fn grad(
    gpu: &Gpu,
    ramp: Ramp,
    state: &Tensor,
    dy: &Tensor,
    dx: &Tensor,
    old: bool,
) -> Result<Kernel> {
    same_len("fade backward", dy, dx)?;
    let params = ramp.params(dy.len(), old)?;
    gpu.kernel(
        KernelSpec::new(Shader::Fade, "fade_grad"),
        &[
            Bind::params(&params),
            Bind::Read(state),
            Bind::Read(dy),
            Bind::Write(dx),
        ],
        groups_256(dy.len()),
    )
}
