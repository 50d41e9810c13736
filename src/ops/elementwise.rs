//! Elementwise arithmetic: add, scale, copy and fill.

use super::{f, groups_256, same_len, u};
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Gpu, Result, Tensor};

/// `y = a·x + b·y`: with b = 1 an add, with b = 0 a scaled copy.
pub fn axpby(gpu: &Gpu, a: f32, x: &Tensor, b: f32, y: &Tensor) -> Result<Kernel> {
    same_len("axpby", x, y)?;
    let params = [u(x.len()), f(a), f(b)];
    gpu.kernel(
        KernelSpec::new(Shader::Elementwise, "axpby"),
        &[Bind::Params(&params), Bind::Read(x), Bind::Write(y)],
        groups_256(x.len()),
    )
}

/// Every element of `y` set to `value`. `scratch` is any other tensor (bound, not read).
pub fn fill(gpu: &Gpu, y: &Tensor, value: f32, scratch: &Tensor) -> Result<Kernel> {
    let params = [u(y.len()), f(value), 0];
    gpu.kernel(
        KernelSpec::new(Shader::Elementwise, "fill"),
        &[Bind::Params(&params), Bind::Read(scratch), Bind::Write(y)],
        groups_256(y.len()),
    )
}
