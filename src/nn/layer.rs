//! One layer of a sequential model and the shape it produces.

use crate::ops::activation::Activation;
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
    /// A new shape for the same values; no copy.
    Reshape(Vec<usize>),
}

impl Layer {
    /// The per-sample output shape for a per-sample input shape.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let len: usize = input.iter().product();
        match self {
            Layer::Linear { out, .. } => Ok(vec![*out]),
            Layer::Activation(_) | Layer::Dropout { .. } => Ok(input.to_vec()),
            Layer::Maxout { pieces } => {
                if *pieces == 0 || len % pieces != 0 {
                    return Err(Error::shape(
                        "maxout",
                        format!("{len} features do not split into groups of {pieces}"),
                    ));
                }
                Ok(vec![len / pieces])
            }
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
            _ => Vec::new(),
        }
    }

    /// A short name for errors and summaries.
    pub fn name(&self) -> String {
        match self {
            Layer::Linear { out, .. } => format!("linear({out})"),
            Layer::Activation(a) => format!("{a:?}").to_lowercase(),
            Layer::Maxout { pieces } => format!("maxout({pieces})"),
            Layer::Dropout { keep } => format!("dropout(keep {keep})"),
            Layer::Reshape(s) => format!("reshape({s:?})"),
        }
    }
}
