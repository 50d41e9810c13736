//! A network's description: a small directed acyclic graph of inputs, layer nodes (joins
//! such as concat and add among them) and outputs, with per-sample shapes. Built with
//! [`Sequential`](crate::Sequential) (the chain) or [`GraphBuilder`](crate::nn::GraphBuilder).

use crate::nn::{Init, Layer};
use crate::{Error, Result};

/// Where a node reads from: a network input or an earlier op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Network input k.
    Input(usize),
    /// The output of op j.
    Op(usize),
}

/// A layer applied to earlier nodes.
#[derive(Clone, Debug)]
pub struct Op {
    pub(crate) layer: Layer,
    pub(crate) inputs: Vec<Source>,
    /// The name of its parameters (`"<name>.weight"`); the op's index when not given.
    pub(crate) name: Option<String>,
}

impl Op {
    /// The layer.
    pub fn layer(&self) -> &Layer {
        &self.layer
    }
}

/// A model: inputs with their per-sample shapes, ops in an order where every op comes after
/// what it reads, and the outputs. Ops are numbered from 0 in that order; a chain's op `i` is
/// its `i`-th layer, as in PyTorch's `nn.Sequential`.
#[derive(Clone, Debug)]
pub struct Graph {
    pub(crate) inputs: Vec<Vec<usize>>,
    pub(crate) ops: Vec<Op>,
    pub(crate) outputs: Vec<Source>,
    pub(crate) init: Init,
    pub(crate) max_norm: Option<f32>,
    /// Whether dense and convolution weights use the equalised learning rate.
    pub(crate) equalized: bool,
    /// Whether dense and convolution weights are spectrally normalised.
    pub(crate) spectral: bool,
    /// A builder mistake reported when the graph is built (nodes of two graphs joined).
    pub(crate) misuse: Option<String>,
}

impl Graph {
    pub(crate) fn empty() -> Graph {
        Graph {
            inputs: Vec::new(),
            ops: Vec::new(),
            outputs: Vec::new(),
            init: Init::PyTorch,
            max_norm: None,
            equalized: false,
            spectral: false,
            misuse: None,
        }
    }

    /// The per-sample shape of the first input.
    pub fn input_shape(&self) -> &[usize] {
        &self.inputs[0]
    }

    /// The per-sample shapes of the inputs.
    pub fn input_shapes(&self) -> &[Vec<usize>] {
        &self.inputs
    }

    /// The ops in recording order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The outputs.
    pub fn outputs(&self) -> &[Source] {
        &self.outputs
    }

    /// The name of op `i`: the one it was given, else its index.
    pub fn op_name(&self, i: usize) -> String {
        self.ops[i].name.clone().unwrap_or_else(|| i.to_string())
    }

    /// The per-sample output shape of every op, or an error naming the op and the shapes it
    /// was given.
    pub fn op_shapes(&self) -> Result<Vec<Vec<usize>>> {
        let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(self.ops.len());
        for (i, op) in self.ops.iter().enumerate() {
            let given: Vec<&[usize]> = op
                .inputs
                .iter()
                .map(|s| match *s {
                    Source::Input(k) => self.inputs[k].as_slice(),
                    Source::Op(j) => shapes[j].as_slice(),
                })
                .collect();
            if given.len() != op.layer.0.arity() {
                return Err(Error::shape(
                    format!("node {} ({})", self.op_name(i), op.layer.name()),
                    format!("reads {} inputs, given {}", op.layer.0.arity(), given.len()),
                ));
            }
            let shape = op.layer.0.output_shape(&given).map_err(|e| match e {
                Error::Shape { op: kind, detail } => Error::shape(
                    format!("node {} ({kind})", self.op_name(i)),
                    format!("{detail} (input shapes {given:?})"),
                ),
                e => e,
            })?;
            shapes.push(shape);
        }
        Ok(shapes)
    }

    /// The per-sample shape a source holds, given every op's shape.
    pub(crate) fn shape_of<'a>(&'a self, shapes: &'a [Vec<usize>], s: Source) -> &'a [usize] {
        match s {
            Source::Input(k) => &self.inputs[k],
            Source::Op(j) => &shapes[j],
        }
    }

    /// The per-sample shape of the first output.
    pub fn output_shape(&self) -> Result<Vec<usize>> {
        let shapes = self.op_shapes()?;
        Ok(self.shape_of(&shapes, self.outputs[0]).to_vec())
    }

    /// A one-line description: the input shape and each layer's name, and where an op does
    /// not read the one before it, what it reads. For a chain, the layer list.
    pub fn describe(&self) -> String {
        let mut s = format!("{:?}", self.inputs[0]);
        for (i, op) in self.ops.iter().enumerate() {
            s.push(' ');
            s.push_str(&op.layer.name());
            let previous = match i {
                0 => Source::Input(0),
                _ => Source::Op(i - 1),
            };
            if op.inputs != [previous] {
                let from: Vec<String> = op.inputs.iter().map(source_name).collect();
                s.push_str(&format!("<{}>", from.join(",")));
            }
        }
        let chain_end = match self.ops.len() {
            0 => Source::Input(0),
            n => Source::Op(n - 1),
        };
        if self.inputs.len() > 1 || self.outputs != [chain_end] {
            let ins: Vec<String> = self.inputs.iter().map(|i| format!("{i:?}")).collect();
            let outs: Vec<String> = self.outputs.iter().map(source_name).collect();
            s.push_str(&format!(
                " inputs {} outputs {}",
                ins.join(","),
                outs.join(",")
            ));
        }
        if self.equalized {
            s.push_str(" equalized_lr");
        }
        if self.spectral {
            s.push_str(" spectral_norm");
        }
        s
    }

    /// The first `ops` ops as a graph whose output is the last of them.
    pub(crate) fn prefix(&self, ops: usize) -> Graph {
        let mut g = self.clone();
        g.ops.truncate(ops);
        g.outputs = vec![Source::Op(ops - 1)];
        g
    }
}

fn source_name(s: &Source) -> String {
    match s {
        Source::Input(k) => format!("in{k}"),
        Source::Op(j) => j.to_string(),
    }
}
