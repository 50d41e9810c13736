//! The tape: a network's forward on given inputs, recorded node by node with each node's
//! backward rule, and the backward that walks the nodes in reverse routing gradients between
//! them. Both are recorded once into kernels; a step only encodes them. The tape knows no
//! layer kind: each kind's kernels live in its file under `src/nn/layers/`.

mod second_order;

use crate::gpu::Kernel;
use crate::nn::graph::Source;
use crate::nn::layers::{Backward, BackwardFn, Dx, Forward, SpectralStep, SpectralUse};
use crate::nn::{Layer, Mode, Network, RngSpec};
use crate::ops::elementwise::{axpby, fill};
use crate::{Error, Gpu, Result, Tensor};

/// What a backward pass does with parameter gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamGrads {
    /// Not formed (e.g. D's weights during the generator step).
    Skip,
    /// Overwrite the gradient buffer.
    Write,
    /// Add to it (a second use of the network in the same loss).
    Accumulate,
}

/// One recorded op: what it read, its backward rule and its parameters' gradients, and what
/// its forward was given (for the second-order pass, recorded later if at all).
struct Node {
    inputs: Vec<Source>,
    rule: BackwardFn,
    param_grads: Vec<Tensor>,
    layer: Layer,
    given: Given,
}

/// The owned parts of a node's [`Forward`], to record its tangent with.
struct Given {
    mode: Mode,
    inputs: Vec<Tensor>,
    out_shape: Vec<usize>,
    params: Vec<(Tensor, Tensor)>,
    running: Option<(Tensor, Tensor)>,
    weight_scale: Option<f32>,
    spectral: Option<SpectralUse>,
    seed: u64,
    stream: u32,
    clock: crate::ops::Clock,
    label: String,
}

/// A network applied to its input tensors.
pub struct Tape {
    nodes: Vec<Node>,
    /// Each op's output.
    values: Vec<Tensor>,
    /// The tensors given as inputs, and seen with the network's sample shapes.
    given: Vec<Tensor>,
    inputs: Vec<Tensor>,
    outputs: Vec<Source>,
    output_tensors: Vec<Tensor>,
    forward: Vec<Kernel>,
    /// The step counter the forward's random kernels read.
    state: Tensor,
}

impl Tape {
    pub(crate) fn record(
        gpu: &Gpu,
        net: &Network,
        given: &[&Tensor],
        mode: Mode,
        rng: RngSpec,
        state: &Tensor,
    ) -> Result<Tape> {
        let model = net.model();
        let batch = given[0].shape()[0];
        let inputs = given
            .iter()
            .zip(&model.inputs)
            .map(|(t, s)| t.reshape(&with_batch(batch, s)))
            .collect::<Result<Vec<_>>>()?;
        let mut values: Vec<Tensor> = Vec::with_capacity(model.ops.len());
        let mut nodes = Vec::with_capacity(model.ops.len());
        let mut forward = Vec::new();
        for (i, op) in model.ops.iter().enumerate() {
            let label = format!("{} layer {i} {}", net.label(), op.layer.name());
            let read = |s: &Source| held(&inputs, &values, *s);
            let params = net.op_params(i);
            // Each forward of a spectrally normalised weight keeps the u', v' and σ it used.
            let spectral = match &net.spectral[i] {
                Some((u, v)) => Some(SpectralUse {
                    kept: (u.clone(), v.clone()),
                    snapshot: (
                        Tensor::zeros(gpu, u.shape(), &format!("{label} u'"))?,
                        Tensor::zeros(gpu, v.shape(), &format!("{label} v'"))?,
                        Tensor::zeros(gpu, &[1], &format!("{label} σ"))?,
                    ),
                    step: match mode {
                        Mode::Train => SpectralStep::Iterate,
                        Mode::Eval | Mode::Generate => SpectralStep::Kept,
                    },
                }),
                None => None,
            };
            let f = Forward {
                gpu,
                mode,
                inputs: op.inputs.iter().map(read).collect(),
                out_shape: with_batch(batch, net.shape_of(Source::Op(i))),
                params: params.clone(),
                running: net.running[i].clone(),
                weight_scale: net.weight_scale(i),
                spectral,
                seed: rng.seed,
                // Each node draws from its own stream below the tape's.
                stream: rng.stream.wrapping_mul(64).wrapping_add(i as u32),
                clock: rng.clock,
                state,
                label: &label,
            };
            let recorded = op.layer.0.record(&f)?;
            let given = Given {
                mode,
                inputs: f.inputs,
                out_shape: f.out_shape,
                params: f.params,
                running: f.running,
                weight_scale: f.weight_scale,
                spectral: f.spectral,
                seed: f.seed,
                stream: f.stream,
                clock: f.clock,
                label: label.clone(),
            };
            forward.extend(recorded.kernels);
            values.push(recorded.output);
            nodes.push(Node {
                inputs: op.inputs.clone(),
                rule: recorded.backward,
                param_grads: params.into_iter().map(|(_, g)| g).collect(),
                layer: op.layer.clone(),
                given,
            });
        }
        let read = |s: &Source| held(&inputs, &values, *s);
        let output_tensors = model.outputs.iter().map(read).collect();
        Ok(Tape {
            nodes,
            values,
            given: given.iter().map(|&t| t.clone()).collect(),
            inputs,
            outputs: model.outputs.clone(),
            output_tensors,
            forward,
            state: state.clone(),
        })
    }

    /// The forward kernels, in order.
    pub fn forward(&self) -> &[Kernel] {
        &self.forward
    }

    /// The network's (first) output tensor, written by the forward kernels.
    pub fn output(&self) -> &Tensor {
        &self.output_tensors[0]
    }

    /// Every output tensor, in the order the graph lists them.
    pub fn outputs(&self) -> &[Tensor] {
        &self.output_tensors
    }

    /// The output of op `i` (e.g. a classifier's penultimate features), if there is one.
    pub fn layer_output(&self, i: usize) -> Option<&Tensor> {
        self.values.get(i)
    }

    /// The (first) input tensor the tape reads.
    pub fn input(&self) -> &Tensor {
        &self.given[0]
    }

    /// Records the backward pass from `dy` (the loss gradient at the only output). Parameter
    /// gradients go to the network's gradient buffer as `grads` says; the input gradient goes
    /// to `dx` when given. Intermediate gradients are allocated here, once.
    pub fn backward(
        &self,
        gpu: &Gpu,
        dy: &Tensor,
        grads: ParamGrads,
        dx: Option<&Tensor>,
    ) -> Result<Vec<Kernel>> {
        self.backward_from(gpu, &[dy], grads, &[dx])
    }

    /// The backward from one gradient per output, with an optional gradient buffer per input.
    /// A node read by several others gets the sum of their gradients, added in a fixed order
    /// (so reruns are bit-identical).
    pub fn backward_from(
        &self,
        gpu: &Gpu,
        dys: &[&Tensor],
        grads: ParamGrads,
        dxs: &[Option<&Tensor>],
    ) -> Result<Vec<Kernel>> {
        if dys.len() != self.outputs.len() || dxs.len() != self.inputs.len() {
            return Err(Error::shape(
                "backward",
                format!(
                    "{} output gradients and {} input buffers for a network of {} outputs and {} inputs",
                    dys.len(),
                    dxs.len(),
                    self.outputs.len(),
                    self.inputs.len()
                ),
            ));
        }
        // Which nodes need a gradient at their output: those with parameters to train, and
        // those a wanted input gradient flows through.
        let mut needed = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let upstream = node.inputs.iter().any(|s| match *s {
                Source::Input(k) => dxs[k].is_some(),
                Source::Op(j) => needed[j],
            });
            needed.push(upstream || (grads != ParamGrads::Skip && !node.param_grads.is_empty()));
        }
        // An input read once has its gradient written straight into the caller's buffer.
        let mut reads = vec![0usize; self.inputs.len()];
        for s in self
            .nodes
            .iter()
            .flat_map(|n| &n.inputs)
            .chain(&self.outputs)
        {
            if let Source::Input(k) = *s {
                reads[k] += 1;
            }
        }
        let mut op_grads: Vec<Vec<Tensor>> = vec![Vec::new(); self.nodes.len()];
        let mut in_grads: Vec<Vec<Tensor>> = vec![Vec::new(); self.inputs.len()];
        let mut written = vec![false; self.inputs.len()];
        for (s, dy) in self.outputs.iter().zip(dys) {
            match *s {
                Source::Op(j) => op_grads[j].push(dy.reshape(self.values[j].shape())?),
                Source::Input(k) => in_grads[k].push(dy.reshape(self.inputs[k].shape())?),
            }
        }
        let mut kernels = Vec::new();
        for (i, node) in self.nodes.iter().enumerate().rev() {
            if !needed[i] {
                continue;
            }
            let Some(gy) = sum(gpu, &op_grads[i], &mut kernels)? else {
                // Nothing reaches this node: a written gradient is zero.
                if grads == ParamGrads::Write {
                    for g in &node.param_grads {
                        kernels.push(fill(gpu, g, 0.0, dys[0])?);
                    }
                }
                continue;
            };
            let plan = node
                .inputs
                .iter()
                .map(|s| match *s {
                    Source::Input(k) => match dxs[k] {
                        Some(d) if reads[k] == 1 => Dx::Into(d.clone()),
                        Some(_) => Dx::Wanted,
                        None => Dx::Unwanted,
                    },
                    Source::Op(j) if needed[j] => Dx::Wanted,
                    Source::Op(_) => Dx::Unwanted,
                })
                .collect();
            let mut b = Backward::new(gpu, gy, grads, plan);
            (node.rule)(&mut b)?;
            let (ks, input_grads) = b.finish();
            kernels.extend(ks);
            for (s, g) in node.inputs.iter().zip(input_grads) {
                match (*s, g) {
                    (Source::Op(j), Some(g)) => op_grads[j].push(g),
                    (Source::Input(k), Some(_)) if reads[k] == 1 => written[k] = true,
                    (Source::Input(k), Some(g)) => in_grads[k].push(g),
                    (_, None) => {}
                }
            }
        }
        for (k, dx) in dxs.iter().enumerate() {
            if let (Some(d), false) = (dx, written[k]) {
                let d = d.reshape(self.inputs[k].shape())?;
                match in_grads[k].split_first() {
                    Some((first, rest)) => {
                        kernels.push(axpby(gpu, 1.0, first, 0.0, &d)?);
                        for g in rest {
                            kernels.push(axpby(gpu, 1.0, g, 1.0, &d)?);
                        }
                    }
                    None => kernels.push(fill(gpu, &d, 0.0, dys[0])?),
                }
            }
        }
        Ok(kernels)
    }
}

/// The sum of a node's incoming gradients in the order they arrived: the one tensor itself,
/// or a new buffer.
fn sum(gpu: &Gpu, parts: &[Tensor], kernels: &mut Vec<Kernel>) -> Result<Option<Tensor>> {
    match parts {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [first, rest @ ..] => {
            let total = Tensor::zeros(gpu, first.shape(), "gradient sum")?;
            kernels.push(axpby(gpu, 1.0, first, 0.0, &total)?);
            for g in rest {
                kernels.push(axpby(gpu, 1.0, g, 1.0, &total)?);
            }
            Ok(Some(total))
        }
    }
}

/// The tensor a source holds: an input, or an op's output.
fn held(inputs: &[Tensor], values: &[Tensor], s: Source) -> Tensor {
    match s {
        Source::Input(k) => inputs[k].clone(),
        Source::Op(j) => values[j].clone(),
    }
}

fn with_batch(batch: usize, sample: &[usize]) -> Vec<usize> {
    let mut s = vec![batch];
    s.extend_from_slice(sample);
    s
}
