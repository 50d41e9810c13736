//! Elementwise activations, forward and backward.

use super::{f, groups_256, same_len, u};
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Gpu, Result, Tensor};

/// An elementwise nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    LeakyRelu(f32),
    Tanh,
    Sigmoid,
}

impl Activation {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Activation::Relu => ("relu_fwd", "relu_bwd"),
            Activation::LeakyRelu(_) => ("leaky_relu_fwd", "leaky_relu_bwd"),
            Activation::Tanh => ("tanh_fwd", "tanh_bwd"),
            Activation::Sigmoid => ("sigmoid_fwd", "sigmoid_bwd"),
        }
    }

    fn slope(self) -> f32 {
        match self {
            Activation::LeakyRelu(s) => s,
            _ => 0.0,
        }
    }

    /// Whether the backward needs the forward's output (else its input).
    pub fn backward_uses_output(self) -> bool {
        matches!(self, Activation::Tanh | Activation::Sigmoid)
    }
}

/// `y = act(x)`.
pub fn forward(gpu: &Gpu, act: Activation, x: &Tensor, y: &Tensor) -> Result<Kernel> {
    same_len("activation", x, y)?;
    let params = [u(x.len()), f(act.slope())];
    gpu.kernel(
        KernelSpec::new(Shader::Activation, act.names().0),
        &[Bind::Params(&params), Bind::Read(x), Bind::Write(y)],
        groups_256(x.len()),
    )
}

/// `dx = dy · act'(saved)`, with `saved` the output for Tanh/Sigmoid and the input otherwise.
pub fn backward(
    gpu: &Gpu,
    act: Activation,
    saved: &Tensor,
    dy: &Tensor,
    dx: &Tensor,
) -> Result<Kernel> {
    same_len("activation backward", saved, dy)?;
    same_len("activation backward", dy, dx)?;
    let params = [u(dy.len()), f(act.slope())];
    gpu.kernel(
        KernelSpec::new(Shader::Activation, act.names().1),
        &[
            Bind::Params(&params),
            Bind::Read(saved),
            Bind::Write(dx),
            Bind::Read(dy),
        ],
        groups_256(dy.len()),
    )
}
