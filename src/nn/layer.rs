//! One layer of a sequential model and the shape it produces.

use crate::ops::activation::Activation;
use crate::ops::conv::ConvGeom;
use crate::{Error, Result};

/// A layer, described by what it does to one sample (batch excluded).
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// `y = x·Wᵀ + b` over the flattened sample; W is `[out, in]` as in PyTorch.
    Linear { out: usize, bias: bool },
    /// An elementwise nonlinearity.
    Activation(Activation),
    /// Max over `pieces` consecutive features.
    Maxout { pieces: usize },
    /// Inverted dropout keeping each value with probability `keep` (identity in eval mode).
    Dropout { keep: f32 },
    /// Adds N(0, σ²) noise to every value in training mode (identity otherwise); the gradient
    /// passes through unchanged. Salimans et al. 2016 put it before each of D's dense layers.
    GaussianNoise { sigma: f32 },
    /// A new shape for the same values; no copy.
    Reshape(Vec<usize>),
    /// 2-D convolution of `[c, h, w]` samples; W is `[out, c, k, k]` as in PyTorch.
    Conv {
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        bias: bool,
    },
    /// 2-D transposed convolution (the adjoint of Conv); W is `[c, out, k, k]` as in PyTorch.
    /// The output is `(h − 1)·stride − 2·pad + k + output_padding` high (and wide).
    ConvTranspose {
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        output_padding: usize,
    },
    /// Batch normalisation over the batch (and H·W for `[c, h, w]` samples) per channel,
    /// with learnable scale and shift and PyTorch's running statistics.
    BatchNorm { eps: f32, momentum: f32 },
    /// Minibatch standard deviation (Karras et al. 2018): one more channel (or feature) holding
    /// the mean over positions of the batch's standard deviation, the batch as one group.
    MinibatchStd,
}

/// `(c, h, w)` of an image-shaped sample, or an error naming the layer.
fn chw(layer: &str, input: &[usize]) -> Result<(usize, usize, usize)> {
    match input {
        [c, h, w] => Ok((*c, *h, *w)),
        _ => Err(Error::shape(
            layer,
            format!(
                "needs [channels, height, width] samples, got {input:?}; add .reshape([c, h, w])"
            ),
        )),
    }
}

impl Layer {
    /// The per-sample output shape for a per-sample input shape.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let len: usize = input.iter().product();
        match self {
            Layer::Linear { out, .. } => Ok(vec![*out]),
            Layer::GaussianNoise { sigma } if !(*sigma >= 0.0 && sigma.is_finite()) => {
                Err(Error::shape(
                    "gaussian_noise",
                    format!("σ must be finite and ≥ 0, got {sigma}"),
                ))
            }
            Layer::Activation(_) | Layer::Dropout { .. } | Layer::GaussianNoise { .. } => {
                Ok(input.to_vec())
            }
            Layer::Maxout { pieces } => {
                if *pieces == 0 || !len.is_multiple_of(*pieces) {
                    return Err(Error::shape(
                        "maxout",
                        format!("{len} features do not split into groups of {pieces}"),
                    ));
                }
                Ok(vec![len / pieces])
            }
            Layer::Conv {
                out,
                k,
                stride,
                pad,
                ..
            } => {
                let (c, h, w) = chw("conv", input)?;
                let g = ConvGeom::conv(1, c, h, w, *out, *k, *stride, *pad)?;
                Ok(vec![*out, g.out_h, g.out_w])
            }
            Layer::ConvTranspose {
                out,
                k,
                stride,
                pad,
                output_padding,
            } => {
                let (c, h, w) = chw("conv_transpose", input)?;
                let g = ConvGeom::transposed(1, c, h, w, *out, *k, *stride, *pad, *output_padding)?;
                Ok(vec![*out, g.h, g.w])
            }
            Layer::BatchNorm { .. } => {
                if input.is_empty() {
                    return Err(Error::shape(
                        "batch_norm",
                        "needs at least a channel dimension",
                    ));
                }
                Ok(input.to_vec())
            }
            Layer::MinibatchStd => match input {
                [c, rest @ ..] => {
                    let mut out = vec![c + 1];
                    out.extend_from_slice(rest);
                    Ok(out)
                }
                [] => Err(Error::shape(
                    "minibatch_std",
                    "needs at least a channel (or feature) dimension",
                )),
            },
            Layer::Reshape(shape) => {
                if shape.iter().product::<usize>() != len {
                    return Err(Error::shape(
                        "reshape",
                        format!("cannot view {input:?} as {shape:?}"),
                    ));
                }
                Ok(shape.clone())
            }
        }
    }

    /// Shapes of the layer's parameters (weight first).
    pub fn param_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        match self {
            Layer::Linear { out, bias } => {
                let inp: usize = input.iter().product();
                let mut v = vec![vec![*out, inp]];
                if *bias {
                    v.push(vec![*out]);
                }
                v
            }
            Layer::Conv { out, k, bias, .. } => {
                let mut v = vec![vec![*out, input[0], *k, *k]];
                if *bias {
                    v.push(vec![*out]);
                }
                v
            }
            Layer::ConvTranspose { out, k, .. } => vec![vec![input[0], *out, *k, *k]],
            Layer::BatchNorm { .. } => vec![vec![input[0]], vec![input[0]]],
            _ => Vec::new(),
        }
    }

    /// Inputs feeding each output unit (for initialisation bounds).
    pub fn fan_in(&self, input: &[usize]) -> usize {
        match self {
            Layer::Conv { k, .. } => input[0] * k * k,
            // PyTorch computes a transposed convolution's fan-in from weight dimension 1.
            Layer::ConvTranspose { out, k, .. } => out * k * k,
            _ => input.iter().product(),
        }
    }

    /// A short name for errors and summaries.
    pub fn name(&self) -> String {
        match self {
            Layer::Linear { out, .. } => format!("linear({out})"),
            Layer::Activation(a) => format!("{a:?}").to_lowercase(),
            Layer::Maxout { pieces } => format!("maxout({pieces})"),
            Layer::Dropout { keep } => format!("dropout(keep {keep})"),
            Layer::GaussianNoise { sigma } => format!("gaussian_noise(σ {sigma})"),
            Layer::Reshape(s) => format!("reshape({s:?})"),
            Layer::Conv {
                out,
                k,
                stride,
                pad,
                bias,
            } => {
                format!(
                    "conv({out}, k{k}, s{stride}, p{pad}{})",
                    if *bias { "" } else { ", no bias" }
                )
            }
            Layer::ConvTranspose {
                out,
                k,
                stride,
                pad,
                output_padding,
            } => {
                format!("conv_transpose({out}, k{k}, s{stride}, p{pad}, op{output_padding})")
            }
            Layer::BatchNorm { .. } => "batch_norm".to_string(),
            Layer::MinibatchStd => "minibatch_std".to_string(),
        }
    }
}
