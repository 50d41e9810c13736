//! A builder that reads like the model: `Sequential::new([100]).linear(1200).relu()...`.

use crate::nn::{Init, Layer};
use crate::ops::activation::Activation;
use crate::Result;

/// A stack of layers with a per-sample input shape.
#[derive(Clone, Debug)]
pub struct Sequential {
    pub(crate) input: Vec<usize>,
    pub(crate) layers: Vec<Layer>,
    pub(crate) init: Init,
    pub(crate) max_norm: Option<f32>,
}

impl Sequential {
    /// An empty model taking samples of `input` shape (batch excluded).
    pub fn new<const N: usize>(input: [usize; N]) -> Sequential {
        Sequential {
            input: input.to_vec(),
            layers: Vec::new(),
            init: Init::PyTorch,
            max_norm: None,
        }
    }

    /// Appends any layer.
    pub fn push(mut self, layer: Layer) -> Self {
        self.layers.push(layer);
        self
    }

    /// How the weights are initialised (default: PyTorch's Linear default).
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// After every optimiser step, rescale each unit's incoming weights (every dense layer) to
    /// norm at most `c` (pylearn2's `max_col_norm`, as Goodfellow et al. 2014 used on D).
    pub fn max_norm(mut self, c: f32) -> Self {
        self.max_norm = Some(c);
        self
    }

    /// A dense layer with bias.
    pub fn linear(self, out: usize) -> Self {
        self.push(Layer::Linear { out, bias: true })
    }

    /// A dense layer without bias (before batch norm).
    pub fn linear_no_bias(self, out: usize) -> Self {
        self.push(Layer::Linear { out, bias: false })
    }

    pub fn relu(self) -> Self {
        self.push(Layer::Activation(Activation::Relu))
    }

    pub fn leaky_relu(self, slope: f32) -> Self {
        self.push(Layer::Activation(Activation::LeakyRelu(slope)))
    }

    pub fn tanh(self) -> Self {
        self.push(Layer::Activation(Activation::Tanh))
    }

    pub fn sigmoid(self) -> Self {
        self.push(Layer::Activation(Activation::Sigmoid))
    }

    /// Maxout over `pieces` consecutive features: put it after `linear(units · pieces)`.
    pub fn maxout(self, pieces: usize) -> Self {
        self.push(Layer::Maxout { pieces })
    }

    /// Dropout keeping each value with probability `keep`.
    pub fn dropout(self, keep: f32) -> Self {
        self.push(Layer::Dropout { keep })
    }

    /// Gaussian noise of standard deviation `sigma` added in training mode.
    pub fn gaussian_noise(self, sigma: f32) -> Self {
        self.push(Layer::GaussianNoise { sigma })
    }

    /// A 2-D convolution without bias (DCGAN style) to `out` channels.
    pub fn conv(self, out: usize, k: usize, stride: usize, pad: usize) -> Self {
        self.push(Layer::Conv {
            out,
            k,
            stride,
            pad,
            bias: false,
        })
    }

    /// A 2-D convolution with bias.
    pub fn conv_bias(self, out: usize, k: usize, stride: usize, pad: usize) -> Self {
        self.push(Layer::Conv {
            out,
            k,
            stride,
            pad,
            bias: true,
        })
    }

    /// A 2-D transposed convolution (no bias) to `out` channels.
    pub fn conv_transpose(self, out: usize, k: usize, stride: usize, pad: usize) -> Self {
        self.push(Layer::ConvTranspose {
            out,
            k,
            stride,
            pad,
            output_padding: 0,
        })
    }

    /// A transposed convolution with output padding (one more row and column per unit).
    pub fn conv_transpose_padded(
        self,
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        output_padding: usize,
    ) -> Self {
        self.push(Layer::ConvTranspose {
            out,
            k,
            stride,
            pad,
            output_padding,
        })
    }

    /// Batch normalisation with PyTorch's defaults (eps 1e-5, momentum 0.1).
    pub fn batch_norm(self) -> Self {
        self.push(Layer::BatchNorm {
            eps: 1e-5,
            momentum: 0.1,
        })
    }

    /// Minibatch standard deviation (ProGAN's D before its last block): appends one channel
    /// (or feature) holding the batch's mean standard deviation.
    pub fn minibatch_std(self) -> Self {
        self.push(Layer::MinibatchStd)
    }

    /// Views each sample with a new shape.
    pub fn reshape<const N: usize>(self, shape: [usize; N]) -> Self {
        self.push(Layer::Reshape(shape.to_vec()))
    }

    /// Views each sample as a vector.
    pub fn flatten(self) -> Self {
        let len = self.output_shape().map(|s| s.iter().product()).unwrap_or(0);
        self.push(Layer::Reshape(vec![len]))
    }

    /// The per-sample input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.input
    }

    /// The per-sample shape after every layer (checks that the layers fit together).
    pub fn output_shape(&self) -> Result<Vec<usize>> {
        self.layers
            .iter()
            .try_fold(self.input.clone(), |s, l| l.output_shape(&s))
    }
}
