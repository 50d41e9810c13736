//! One file per layer kind: its output shape, its parameters and their initialisation, the
//! kernels its forward records and — in the closure that forward returns — the kernels its
//! backward records, side by side (micrograd's `_backward` beside its forward). The tape only
//! routes tensors between nodes; it names no kind.
//!
//! Adding a layer touches its shader, its file here (plus one `mod` line), its reference and
//! its test.

mod activation;
mod add;
mod avg_pool;
mod batch_norm;
mod concat;
mod conv;
mod conv_transpose;
mod dropout;
mod equalized;
mod fade;
mod gaussian_noise;
mod instance_norm;
mod linear;
mod maxout;
mod minibatch_std;
mod pixel_norm;
mod record;
mod reshape;
mod upsample;

use std::fmt;
use std::sync::Arc;

pub(crate) use equalized::Weight;
pub(crate) use record::{
    Backward, BackwardFn, Dx, Forward, Recorded, SpectralStep, SpectralUse, Tangent,
};

use crate::nn::Init;
use crate::ops::activation::Activation;
use crate::Result;

/// What every layer kind tells the network and the tape. Shapes are per sample (no batch).
pub(crate) trait Kind: fmt::Debug + Send + Sync {
    /// A short name for errors, summaries and checkpoint descriptions.
    fn name(&self) -> String;

    /// How many inputs the node reads (1 for every layer; concat and add read 2).
    fn arity(&self) -> usize {
        1
    }

    /// The per-sample output shape for the per-sample input shapes (one per input).
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>>;

    /// Shapes of the parameters (weight first), for a single-input layer's input shape.
    fn param_shapes(&self, _input: &[usize]) -> Vec<Vec<usize>> {
        Vec::new()
    }

    /// Inputs feeding each output unit (for initialisation bounds).
    fn fan_in(&self, input: &[usize]) -> usize {
        input.iter().product()
    }

    /// Parameter `index`'s first values, given what `init` drew for it.
    fn initial(&self, _index: usize, drawn: Vec<f32>, _init: Init) -> Vec<f32> {
        drawn
    }

    /// Whether the layer keeps running statistics (mean and variance per channel).
    fn has_running_stats(&self) -> bool {
        false
    }

    /// Whether the layer's first parameter is a weight that an equalised learning rate
    /// scales (dense and convolution layers; not batch norm's γ).
    fn scales_weight(&self) -> bool {
        false
    }

    /// Whether spectral normalisation can apply to its weight, whose first axis is the output
    /// (dense and convolution layers).
    fn spectral_ok(&self) -> bool {
        false
    }

    /// Whether a network's max-norm constraint applies to its weight (dense layers).
    fn is_dense(&self) -> bool {
        false
    }

    /// Records the forward kernels and returns the output with the layer's backward rule.
    fn record(&self, f: &Forward<'_>) -> Result<Recorded>;

    /// Records the forward-mode derivative (the output's tangent for the inputs' tangents) and
    /// returns it with its reverse rule, for a gradient penalty's second-order pass. Kinds
    /// without one refuse, naming themselves.
    fn tangent(&self, _t: &Tangent<'_>) -> Result<Recorded> {
        Err(crate::Error::shape(
            self.name(),
            "has no second-order pass: a gradient penalty cannot go through it yet (linear, conv, \
             conv_transpose, the activations, dropout, reshape, add, concat, fade, up-sampling, \
             average pooling and minibatch std can)",
        ))
    }
}

/// A layer (or join) of a network: one of the kinds under `src/nn/layers/`. Build one with
/// the constructors below or, more often, the builder methods of
/// [`Sequential`](crate::Sequential) and [`Node`](crate::nn::Node).
#[derive(Clone)]
pub struct Layer(pub(crate) Arc<dyn Kind>);

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Layer {
    fn of(kind: impl Kind + 'static) -> Layer {
        Layer(Arc::new(kind))
    }

    /// `y = x·Wᵀ + b` over the flattened sample; W is `[out, in]` as in PyTorch.
    pub fn linear(out: usize, bias: bool) -> Layer {
        Layer::of(linear::Linear { out, bias })
    }

    /// An elementwise nonlinearity.
    pub fn activation(act: Activation) -> Layer {
        Layer::of(activation::Act(act))
    }

    /// Max over `pieces` consecutive features.
    pub fn maxout(pieces: usize) -> Layer {
        Layer::of(maxout::Maxout { pieces })
    }

    /// Inverted dropout keeping each value with probability `keep` (identity outside training).
    pub fn dropout(keep: f32) -> Layer {
        Layer::of(dropout::Dropout { keep })
    }

    /// Adds N(0, σ²) noise to every value in training mode (identity otherwise); the gradient
    /// passes through unchanged. Salimans et al. 2016 put it before each of D's dense layers.
    pub fn gaussian_noise(sigma: f32) -> Layer {
        Layer::of(gaussian_noise::GaussianNoise { sigma })
    }

    /// A new shape for the same values; no copy.
    pub fn reshape(shape: Vec<usize>) -> Layer {
        Layer::of(reshape::Reshape(shape))
    }

    /// 2-D convolution of `[c, h, w]` samples; W is `[out, c, k, k]` as in PyTorch.
    pub fn conv(out: usize, k: usize, stride: usize, pad: usize, bias: bool) -> Layer {
        Layer::of(conv::Conv {
            out,
            k,
            stride,
            pad,
            bias,
        })
    }

    /// 2-D transposed convolution (the adjoint of conv); W is `[c, out, k, k]` as in PyTorch.
    /// The output is `(h − 1)·stride − 2·pad + k + output_padding` high (and wide).
    pub fn conv_transpose(
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        output_padding: usize,
    ) -> Layer {
        Layer::of(conv_transpose::ConvTranspose {
            out,
            k,
            stride,
            pad,
            output_padding,
        })
    }

    /// Batch normalisation per channel over the batch (and H·W), with learnable scale and
    /// shift and PyTorch's running statistics.
    pub fn batch_norm(eps: f32, momentum: f32) -> Layer {
        Layer::of(batch_norm::BatchNorm { eps, momentum })
    }

    /// Minibatch standard deviation (Karras et al. 2018): one more channel (or feature)
    /// holding the mean over positions of the batch's standard deviation.
    pub fn minibatch_std() -> Layer {
        Layer::of(minibatch_std::MinibatchStd)
    }

    /// Nearest-neighbour up-sampling by 2 in height and width.
    pub fn upsample() -> Layer {
        Layer::of(upsample::Upsample)
    }

    /// 2×2 average pooling with stride 2 (an odd last row or column dropped).
    pub fn avg_pool() -> Layer {
        Layer::of(avg_pool::AvgPool)
    }

    /// Pixelwise feature normalisation: each position's channels divided by their root mean
    /// square (plus `eps`).
    pub fn pixel_norm(eps: f32) -> Layer {
        Layer::of(pixel_norm::PixelNorm { eps })
    }

    /// Instance normalisation: each sample's channel planes normalised by their own mean
    /// and variance (plus `eps`), then scaled and shifted by a learnable γ and β per channel.
    pub fn instance_norm(eps: f32) -> Layer {
        Layer::of(instance_norm::InstanceNorm { eps })
    }

    /// Channel concatenation of two inputs with the same spatial shape.
    pub fn concat() -> Layer {
        Layer::of(concat::Concat)
    }

    /// `a·x + b·y` of two inputs of the same shape (a residual sum, or a fixed blend).
    pub fn add(a: f32, b: f32) -> Layer {
        Layer::of(add::Add { a, b })
    }

    /// Progressive growing's fade-in of two inputs of the same shape, `α·new + (1 − α)·old`,
    /// α rising from 0 at iteration `start` to 1 over `steps` iterations of the step counter.
    pub fn fade(start: u32, steps: u32) -> Layer {
        Layer::of(fade::Fade(crate::ops::fade::Ramp { start, steps }))
    }

    /// A short name for errors and summaries.
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// The per-sample output shape of a single-input layer.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.0.output_shape(&[input])
    }

    /// Shapes of the layer's parameters (weight first) for a per-sample input shape.
    pub fn param_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        self.0.param_shapes(input)
    }
}

/// `(c, h, w)` of an image-shaped sample, or an error naming the layer.
pub(crate) fn chw(layer: &str, input: &[usize]) -> Result<(usize, usize, usize)> {
    match input {
        [c, h, w] => Ok((*c, *h, *w)),
        _ => Err(crate::Error::shape(
            layer,
            format!(
                "needs [channels, height, width] samples, got {input:?}; add .reshape([c, h, w])"
            ),
        )),
    }
}

/// The builder methods shared by [`Sequential`](crate::Sequential) (which appends to its
/// chain) and [`Node`](crate::nn::Node) (which starts a new node reading this one, leaving it
/// usable for a skip): each is `push(layer)`.
macro_rules! layer_builders {
    // The receiver (`self` or `&self`) and `self` itself come from the caller: a macro may
    // only use the `self` it was given.
    ([$($recv:tt)+] $me:tt) => {
        /// A dense layer with bias.
        pub fn linear($($recv)+, out: usize) -> Self {
            $me.push($crate::nn::Layer::linear(out, true))
        }

        /// A dense layer without bias (before batch norm).
        pub fn linear_no_bias($($recv)+, out: usize) -> Self {
            $me.push($crate::nn::Layer::linear(out, false))
        }

        /// max(0, x).
        pub fn relu($($recv)+) -> Self {
            $me.push($crate::nn::Layer::activation(
                $crate::ops::activation::Activation::Relu,
            ))
        }

        /// max(slope·x, x).
        pub fn leaky_relu($($recv)+, slope: f32) -> Self {
            $me.push($crate::nn::Layer::activation(
                $crate::ops::activation::Activation::LeakyRelu(slope),
            ))
        }

        /// tanh(x).
        pub fn tanh($($recv)+) -> Self {
            $me.push($crate::nn::Layer::activation(
                $crate::ops::activation::Activation::Tanh,
            ))
        }

        /// 1 / (1 + e^−x).
        pub fn sigmoid($($recv)+) -> Self {
            $me.push($crate::nn::Layer::activation(
                $crate::ops::activation::Activation::Sigmoid,
            ))
        }

        /// Maxout over `pieces` consecutive features: put it after `linear(units · pieces)`.
        pub fn maxout($($recv)+, pieces: usize) -> Self {
            $me.push($crate::nn::Layer::maxout(pieces))
        }

        /// Dropout keeping each value with probability `keep`.
        pub fn dropout($($recv)+, keep: f32) -> Self {
            $me.push($crate::nn::Layer::dropout(keep))
        }

        /// Gaussian noise of standard deviation `sigma` added in training mode.
        pub fn gaussian_noise($($recv)+, sigma: f32) -> Self {
            $me.push($crate::nn::Layer::gaussian_noise(sigma))
        }

        /// Nearest-neighbour up-sampling by 2: `[c, h, w]` → `[c, 2h, 2w]`.
        pub fn upsample($($recv)+) -> Self {
            $me.push($crate::nn::Layer::upsample())
        }

        /// 2×2 average pooling with stride 2: `[c, h, w]` → `[c, h/2, w/2]`.
        pub fn avg_pool($($recv)+) -> Self {
            $me.push($crate::nn::Layer::avg_pool())
        }

        /// Pixelwise feature normalisation with the paper's eps of 1e-8.
        pub fn pixel_norm($($recv)+) -> Self {
            $me.push($crate::nn::Layer::pixel_norm(1e-8))
        }

        /// Instance normalisation with PyTorch's eps of 1e-5 and a learnable γ and β.
        pub fn instance_norm($($recv)+) -> Self {
            $me.push($crate::nn::Layer::instance_norm(1e-5))
        }

        /// A 2-D convolution without bias (DCGAN style) to `out` channels.
        pub fn conv($($recv)+, out: usize, k: usize, stride: usize, pad: usize) -> Self {
            $me.push($crate::nn::Layer::conv(out, k, stride, pad, false))
        }

        /// A 2-D convolution with bias.
        pub fn conv_bias($($recv)+, out: usize, k: usize, stride: usize, pad: usize) -> Self {
            $me.push($crate::nn::Layer::conv(out, k, stride, pad, true))
        }

        /// A 2-D transposed convolution (no bias) to `out` channels.
        pub fn conv_transpose($($recv)+, out: usize, k: usize, stride: usize, pad: usize) -> Self {
            $me.push($crate::nn::Layer::conv_transpose(out, k, stride, pad, 0))
        }

        /// A transposed convolution with output padding (one more row and column per unit).
        pub fn conv_transpose_padded(
            $($recv)+,
            out: usize,
            k: usize,
            stride: usize,
            pad: usize,
            output_padding: usize,
        ) -> Self {
            $me.push($crate::nn::Layer::conv_transpose(
                out,
                k,
                stride,
                pad,
                output_padding,
            ))
        }

        /// Batch normalisation with PyTorch's defaults (eps 1e-5, momentum 0.1).
        pub fn batch_norm($($recv)+) -> Self {
            $me.batch_norm_with(1e-5, 0.1)
        }

        /// Batch normalisation with its own `eps` and running-statistics `momentum`.
        pub fn batch_norm_with($($recv)+, eps: f32, momentum: f32) -> Self {
            $me.push($crate::nn::Layer::batch_norm(eps, momentum))
        }

        /// Minibatch standard deviation (ProGAN's D before its last block): appends one
        /// channel (or feature) holding the batch's mean standard deviation.
        pub fn minibatch_std($($recv)+) -> Self {
            $me.push($crate::nn::Layer::minibatch_std())
        }

        /// Views each sample with a new shape.
        pub fn reshape<const N: usize>($($recv)+, shape: [usize; N]) -> Self {
            $me.push($crate::nn::Layer::reshape(shape.to_vec()))
        }

        /// Views each sample as a vector.
        pub fn flatten($($recv)+) -> Self {
            let len = $me.output_shape().map(|s| s.iter().product()).unwrap_or(0);
            $me.push($crate::nn::Layer::reshape(vec![len]))
        }
    };
}
pub(crate) use layer_builders;
