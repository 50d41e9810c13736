//! Elementwise arithmetic: add, scale, copy and fill.

use super::{groups_256, same_len, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Gpu, Result, Tensor};

shader_params! {
    /// `elementwise.wgsl`'s parameters: the length and the coefficients (`fill` writes `a`).
    pub(crate) struct AxpbyParams for Elementwise::Params { n: u32, a: f32, b: f32 }
}

/// `y = a·x + b·y`: with b = 1 an add, with b = 0 a scaled copy.
pub fn axpby(gpu: &Gpu, a: f32, x: &Tensor, b: f32, y: &Tensor) -> Result<Kernel> {
    same_len("axpby", x, y)?;
    let params = AxpbyParams {
        n: u(x.len()),
        a,
        b,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Elementwise, "axpby"),
        &[Bind::params(&params), Bind::Read(x), Bind::Write(y)],
        groups_256(x.len()),
    )
}

/// Every element of `y` set to `value`. `scratch` is any other tensor (bound, not read).
pub fn fill(gpu: &Gpu, y: &Tensor, value: f32, scratch: &Tensor) -> Result<Kernel> {
    let params = AxpbyParams {
        n: u(y.len()),
        a: value,
        b: 0.0,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Elementwise, "fill"),
        &[Bind::params(&params), Bind::Read(scratch), Bind::Write(y)],
        groups_256(y.len()),
    )
}
