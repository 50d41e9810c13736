//! Building a graph that is not a chain: nodes are handles that grow the graph they belong
//! to, so a U-Net reads like its drawing:
//!
//! ```
//! use counterfeit::nn::GraphBuilder;
//! # fn main() -> counterfeit::Result<()> {
//! let g = GraphBuilder::new();
//! let x = g.input([1, 28, 28]);
//! let e1 = x.conv(16, 4, 2, 1).leaky_relu(0.2); // 14×14
//! let e2 = e1.conv(32, 4, 2, 1).batch_norm().leaky_relu(0.2); // 7×7
//! let d1 = e2.conv_transpose(16, 4, 2, 1).batch_norm().relu(); // 14×14
//! let y = d1.concat(&e1).conv_transpose(1, 4, 2, 1).tanh(); // the skip
//! let unet = g.output(&y).build()?;
//! assert_eq!(unet.output_shape()?, vec![1, 28, 28]);
//! # Ok(()) }
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use crate::nn::graph::{Op, Source};
use crate::nn::layers::layer_builders;
use crate::nn::{Graph, Init, Layer};
use crate::{Error, Result};

/// A graph under construction. Clones share it.
#[derive(Clone)]
pub struct GraphBuilder {
    graph: Rc<RefCell<Graph>>,
}

/// A node of a graph under construction: an input or a layer's output. Its builder methods
/// (`.conv(…)`, `.relu()`, …) add a layer reading it and return the new node.
#[derive(Clone)]
pub struct Node {
    graph: Rc<RefCell<Graph>>,
    at: Source,
}

impl Default for GraphBuilder {
    fn default() -> Self {
        GraphBuilder::new()
    }
}

impl GraphBuilder {
    /// An empty graph.
    pub fn new() -> GraphBuilder {
        GraphBuilder {
            graph: Rc::new(RefCell::new(Graph::empty())),
        }
    }

    /// A new input taking samples of `shape` (batch excluded).
    pub fn input<const N: usize>(&self, shape: [usize; N]) -> Node {
        let mut g = self.graph.borrow_mut();
        g.inputs.push(shape.to_vec());
        Node {
            graph: self.graph.clone(),
            at: Source::Input(g.inputs.len() - 1),
        }
    }

    /// Marks `node` as an output (in the order of these calls).
    pub fn output(&self, node: &Node) -> &Self {
        self.graph.borrow_mut().outputs.push(node.at);
        self
    }

    /// How the weights are initialised (default: PyTorch's Linear default).
    pub fn init(&self, init: Init) -> &Self {
        self.graph.borrow_mut().init = init;
        self
    }

    /// A max-norm constraint on every dense layer's units (see `Sequential::max_norm`).
    pub fn max_norm(&self, c: f32) -> &Self {
        self.graph.borrow_mut().max_norm = Some(c);
        self
    }

    /// The equalised learning rate on every dense and convolution weight (see
    /// `Sequential::equalized_lr`).
    pub fn equalized_lr(&self) -> &Self {
        self.graph.borrow_mut().equalized = true;
        self
    }

    /// Spectral normalisation of every dense and convolution weight (see
    /// `Sequential::spectral_norm`).
    pub fn spectral_norm(&self) -> &Self {
        self.graph.borrow_mut().spectral = true;
        self
    }

    /// The finished graph, its shapes checked. Nodes of another builder, no input or no
    /// output are errors.
    pub fn build(&self) -> Result<Graph> {
        let g = self.graph.borrow().clone();
        if g.inputs.is_empty() || g.outputs.is_empty() {
            return Err(Error::shape(
                "graph",
                "needs at least one input and one output (GraphBuilder::output)",
            ));
        }
        if let Some(m) = &g.misuse {
            return Err(Error::shape("graph", m.clone()));
        }
        g.op_shapes()?;
        Ok(g)
    }
}

impl Node {
    /// A layer reading this node (and `others`, for joins).
    fn join(&self, layer: Layer, others: &[&Node]) -> Node {
        let mut g = self.graph.borrow_mut();
        let mut inputs = vec![self.at];
        for o in others {
            if !Rc::ptr_eq(&self.graph, &o.graph) {
                g.misuse = Some(format!("{} joins a node of another graph", layer.name()));
            }
            inputs.push(o.at);
        }
        g.ops.push(Op {
            layer,
            inputs,
            name: None,
        });
        Node {
            graph: self.graph.clone(),
            at: Source::Op(g.ops.len() - 1),
        }
    }

    /// A layer reading this node.
    pub fn push(&self, layer: Layer) -> Node {
        self.join(layer, &[])
    }

    /// This node's channels followed by `other`'s (same trailing shape).
    pub fn concat(&self, other: &Node) -> Node {
        self.join(Layer::concat(), &[other])
    }

    /// `self + other` (same shape): a residual connection.
    pub fn add(&self, other: &Node) -> Node {
        self.blend(1.0, other, 1.0)
    }

    /// `a·self + b·other` (same shape): e.g. a fade-in `α·new + (1 − α)·old`.
    pub fn blend(&self, a: f32, other: &Node, b: f32) -> Node {
        self.join(Layer::add(a, b), &[other])
    }

    /// Progressive growing's fade-in from `old` to this node (same shape): `α·self + (1 −
    /// α)·old`, α rising linearly from 0 at iteration `start` to 1 `steps` iterations later,
    /// read from the step counter each step.
    pub fn fade(&self, old: &Node, start: u32, steps: u32) -> Node {
        self.join(Layer::fade(start, steps), &[old])
    }

    /// Names this node's parameters (`"<name>.weight"`) instead of its op index.
    pub fn named(self, name: &str) -> Node {
        if let Source::Op(i) = self.at {
            self.graph.borrow_mut().ops[i].name = Some(name.to_string());
        }
        self
    }

    /// The per-sample shape this node holds.
    pub fn output_shape(&self) -> Result<Vec<usize>> {
        let g = self.graph.borrow();
        let shapes = g.op_shapes()?;
        Ok(g.shape_of(&shapes, self.at).to_vec())
    }

    layer_builders!([&self] self);
}
