//! Elementwise activations, forward and backward.

use super::{groups_256, same_len, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Gpu, Result, Tensor};

shader_params! {
    /// `activation.wgsl`'s parameters: the length and the leaky ReLU's slope.
    pub(crate) struct ActParams for Activation::Params { n: u32, slope: f32 }
}

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

    /// The vec4 entries, for lengths divisible by 4 (the ReLUs: memory-bound, so a vec4 access
    /// per four values pays most; measured in docs/BENCHMARKS.md).
    fn names4(self) -> Option<(&'static str, &'static str)> {
        match self {
            Activation::Relu => Some(("relu_fwd4", "relu_bwd4")),
            Activation::LeakyRelu(_) => Some(("leaky_relu_fwd4", "leaky_relu_bwd4")),
            _ => None,
        }
    }

    /// The forward and backward entries for `len` values and the work items they take.
    fn entries(self, len: usize) -> ((&'static str, &'static str), usize) {
        match self.names4() {
            Some(names) if len.is_multiple_of(4) => (names, len / 4),
            _ => (self.names(), len),
        }
    }

    fn slope(self) -> f32 {
        match self {
            Activation::LeakyRelu(s) => s,
            _ => 0.0,
        }
    }

    /// Whether σ'' is nonzero anywhere it exists (Tanh and Sigmoid; the ReLUs are piecewise
    /// linear).
    pub fn has_curvature(self) -> bool {
        self.backward_uses_output()
    }

    /// Whether the backward needs the forward's output (else its input).
    pub fn backward_uses_output(self) -> bool {
        matches!(self, Activation::Tanh | Activation::Sigmoid)
    }
}

/// `y = act(x)`.
pub fn forward(gpu: &Gpu, act: Activation, x: &Tensor, y: &Tensor) -> Result<Kernel> {
    same_len("activation", x, y)?;
    let ((entry, _), items) = act.entries(x.len());
    let params = ActParams {
        n: u(items),
        slope: act.slope(),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Activation, entry),
        &[Bind::params(&params), Bind::Read(x), Bind::Write(y)],
        groups_256(items),
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
    let ((_, entry), items) = act.entries(dy.len());
    let params = ActParams {
        n: u(items),
        slope: act.slope(),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Activation, entry),
        &[
            Bind::params(&params),
            Bind::Read(saved),
            Bind::Write(dx),
            Bind::Read(dy),
        ],
        groups_256(items),
    )
}

/// `c = σ''(x)·t·g` for Tanh and Sigmoid, with σ'' written in terms of the forward's output
/// `y`: the primal cotangent a tangent `t` and its cotangent `g` leave through the curvature.
pub fn curvature(
    gpu: &Gpu,
    act: Activation,
    y: &Tensor,
    t: &Tensor,
    g: &Tensor,
    c: &Tensor,
) -> Result<Kernel> {
    same_len("activation curvature", y, t)?;
    same_len("activation curvature", t, g)?;
    same_len("activation curvature", g, c)?;
    let entry = match act {
        Activation::Tanh => "tanh_curv",
        Activation::Sigmoid => "sigmoid_curv",
        _ => {
            return Err(crate::Error::shape(
                "activation curvature",
                format!("{act:?} has no curvature"),
            ))
        }
    };
    let params = ActParams {
        n: u(g.len()),
        slope: 0.0,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Activation, entry),
        &[
            Bind::params(&params),
            Bind::Read(y),
            Bind::Write(c),
            Bind::Read(g),
            Bind::Read(t),
        ],
        groups_256(g.len()),
    )
}
