//! A chain of layers that reads like the model: `Sequential::new([100]).linear(1200).relu()`.
//! It is the chain case of [`Graph`]: one input, each layer reading the one before.

use crate::nn::graph::{Op, Source};
use crate::nn::layers::layer_builders;
use crate::nn::{Graph, Init, Layer};
use crate::Result;

/// A stack of layers with a per-sample input shape.
#[derive(Clone, Debug)]
pub struct Sequential {
    pub(crate) graph: Graph,
}

impl Sequential {
    /// An empty model taking samples of `input` shape (batch excluded).
    pub fn new<const N: usize>(input: [usize; N]) -> Sequential {
        let mut graph = Graph::empty();
        graph.inputs.push(input.to_vec());
        graph.outputs.push(Source::Input(0));
        Sequential { graph }
    }

    /// Appends any layer.
    pub fn push(mut self, layer: Layer) -> Self {
        let tip = self.graph.outputs[0];
        self.graph.ops.push(Op {
            layer,
            inputs: vec![tip],
            name: None,
        });
        self.graph.outputs[0] = Source::Op(self.graph.ops.len() - 1);
        self
    }

    /// Names the last layer's parameters (`"<name>.weight"`) instead of its index.
    pub fn named(mut self, name: &str) -> Self {
        if let Some(op) = self.graph.ops.last_mut() {
            op.name = Some(name.to_string());
        }
        self
    }

    /// How the weights are initialised (default: PyTorch's Linear default).
    pub fn init(mut self, init: Init) -> Self {
        self.graph.init = init;
        self
    }

    /// After every optimiser step, rescale each unit's incoming weights (every dense layer) to
    /// norm at most `c` (pylearn2's `max_col_norm`, as Goodfellow et al. 2014 used on D).
    pub fn max_norm(mut self, c: f32) -> Self {
        self.graph.max_norm = Some(c);
        self
    }

    /// The equalised learning rate of progressive growing (Karras et al. 2018): every dense
    /// and convolution weight is drawn from N(0, 1) and used at √(2 / fan-in) times its
    /// value, so that Adam's steps move every layer alike.
    pub fn equalized_lr(mut self) -> Self {
        self.graph.equalized = true;
        self
    }

    /// Spectral normalisation (Miyato et al. 2018) of every dense and convolution weight: each
    /// is used at W/σ, σ its largest singular value estimated by one power iteration per
    /// training forward from a kept u (saved in checkpoints), with the exact gradient through
    /// σ. Transposed convolutions are refused.
    pub fn spectral_norm(mut self) -> Self {
        self.graph.spectral = true;
        self
    }

    layer_builders!([self] self);

    /// The per-sample input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.graph.inputs[0]
    }

    /// The layers in order.
    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.graph.ops.iter().map(|op| &op.layer)
    }

    /// The per-sample shape after every layer (checks that the layers fit together).
    pub fn output_shape(&self) -> Result<Vec<usize>> {
        self.graph.output_shape()
    }

    /// The model as a graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
}

impl From<Sequential> for Graph {
    fn from(s: Sequential) -> Graph {
        s.graph
    }
}
