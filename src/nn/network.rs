//! A network: its graph and its parameters on the GPU.

use crate::gpu::Kernel;
use crate::nn::graph::Source;
use crate::nn::{Graph, Init, ParamSet};
use crate::ops::Clock;
use crate::tape::Tape;
use crate::{Error, Gpu, Result, Tensor};

/// How a tape runs the layers that behave differently in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Dropout active; batch norm uses batch statistics and updates its running statistics.
    Train,
    /// Dropout is the identity; batch norm uses its running statistics.
    Eval,
    /// As in training but changing nothing: dropout off, batch norm on batch statistics with
    /// the running statistics left alone (how DCGAN samples are usually drawn).
    Generate,
}

/// Where a tape draws its randomness (dropout masks): seed, a stream distinct from every
/// other use in the program, and the step clock.
#[derive(Clone, Copy, Debug)]
pub struct RngSpec {
    /// Seeds every draw.
    pub seed: u64,
    /// The tape's Philox stream; each layer draws from its own stream below it.
    pub stream: u32,
    /// How the step of the draws follows the GPU step counter.
    pub clock: Clock,
}

/// A model with its parameters on the GPU. A clone is a second handle to the same GPU
/// parameters (e.g. an eval-mode view of a network in training).
#[derive(Clone)]
pub struct Network {
    pub(crate) model: Graph,
    /// The per-sample output shape of each op.
    pub(crate) shapes: Vec<Vec<usize>>,
    pub(crate) params: ParamSet,
    /// For each op, the index of its first parameter.
    pub(crate) first_param: Vec<usize>,
    /// For each op that keeps them, its running mean and variance.
    pub(crate) running: Vec<Option<(Tensor, Tensor)>>,
    /// For each spectrally normalised op, its kept power-iteration vectors u and v.
    pub(crate) spectral: Vec<Option<(Tensor, Tensor)>>,
    pub(crate) label: String,
}

impl Network {
    /// Allocates and initialises the parameters of `model` (a [`Sequential`](crate::Sequential)
    /// or a [`Graph`]), drawn from `seed`.
    pub fn new(gpu: &Gpu, label: &str, model: impl Into<Graph>, seed: u64) -> Result<Network> {
        let model = model.into();
        let shapes = model.op_shapes().map_err(|e| match e {
            Error::Shape { op, detail } => Error::shape(format!("{label} {op}"), detail),
            e => e,
        })?;
        let mut init = Vec::new();
        let mut first_param = Vec::new();
        let mut running = Vec::new();
        let mut spectral = Vec::new();
        if model.spectral && model.equalized {
            return Err(Error::Config(format!(
                "{label}: spectral_norm and equalized_lr both rescale the weights; use one"
            )));
        }
        for (i, op) in model.ops.iter().enumerate() {
            first_param.push(init.len());
            let kind = &op.layer.0;
            let input = model.shape_of(&shapes, op.inputs[0]);
            let fan_in = kind.fan_in(input);
            let what = format!("{label} layer {} {}", model.op_name(i), kind.name());
            for (pi, ps) in kind.param_shapes(input).into_iter().enumerate() {
                let len: usize = ps.iter().product();
                // Check before drawing: a layer too large for the device must not first fill
                // the host's memory.
                let part = if pi == 0 { "weight" } else { "bias" };
                gpu.check_size(&format!("{what} {part}"), (len as u64).saturating_mul(4))?;
                // An equalised weight is stored at unit variance; its scale is applied in use.
                let weight_init = if model.equalized && kind.scales_weight() && pi == 0 {
                    Init::Normal(1.0)
                } else {
                    model.init
                };
                let drawn = weight_init.draw(seed, init.len() as u32, len, fan_in, pi > 0);
                init.push((ps, kind.initial(pi, drawn, model.init)));
            }
            spectral.push(if model.spectral && kind.scales_weight() {
                if !kind.spectral_ok() {
                    return Err(Error::shape(
                        what,
                        "spectral normalisation applies to dense and convolution weights only",
                    ));
                }
                let (shape, w) = &init[first_param[i]];
                let (u, v) = crate::nn::spectral_init::vectors(w, shape[0], seed, i as u32);
                let name = format!("{label} layer {i} spectral");
                Some((
                    Tensor::from_slice(gpu, &u, &[u.len()], &format!("{name} u"))?,
                    Tensor::from_slice(gpu, &v, &[v.len()], &format!("{name} v"))?,
                ))
            } else {
                None
            });
            running.push(if kind.has_running_stats() {
                let c = input[0];
                let name = format!("{label} layer {i} {} running", kind.name());
                Some((
                    Tensor::zeros(gpu, &[c], &name)?,
                    Tensor::from_slice(gpu, &vec![1.0; c], &[c], &name)?,
                ))
            } else {
                None
            });
        }
        let params = ParamSet::new(gpu, label, &init)?;
        Ok(Network {
            model,
            shapes,
            params,
            first_param,
            running,
            spectral,
            label: label.to_string(),
        })
    }

    /// A second set of parameter values for the same model (a moving average of the
    /// weights): its own zeroed value buffer, with gradients, moments and batch-norm running
    /// statistics shared with `self`, since it is never trained itself.
    pub(crate) fn shadow(&self, gpu: &Gpu, label: &str) -> Result<Network> {
        let values = Tensor::zeros(
            gpu,
            self.params.values.shape(),
            &format!("{label} parameters"),
        )?;
        Ok(Network {
            params: self.params.with_values(values),
            label: label.to_string(),
            ..self.clone()
        })
    }

    /// The first `ops` ops as a network of their own, whose output is the last of them, sharing
    /// this one's parameters and statistics (e.g. D up to the features feature matching
    /// compares).
    pub fn prefix(&self, ops: usize) -> Result<Network> {
        if ops == 0 || ops > self.model.ops.len() {
            return Err(Error::shape(
                &self.label,
                format!(
                    "a prefix of {ops} layers of a network of {}",
                    self.model.ops.len()
                ),
            ));
        }
        let mut net = self.clone();
        net.model = self.model.prefix(ops);
        net.shapes.truncate(ops);
        net.first_param.truncate(ops);
        net.running.truncate(ops);
        net.spectral.truncate(ops);
        Ok(net)
    }

    /// The model description.
    pub fn model(&self) -> &Graph {
        &self.model
    }

    /// The parameters.
    pub fn params(&self) -> &ParamSet {
        &self.params
    }

    /// The name used in errors.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The layers, in op order.
    pub fn layers(&self) -> Vec<&crate::nn::Layer> {
        self.model.ops.iter().map(|op| &op.layer).collect()
    }

    /// The per-sample shape of what `s` holds.
    pub(crate) fn shape_of(&self, s: Source) -> &[usize] {
        self.model.shape_of(&self.shapes, s)
    }

    /// Op `i`'s parameters: each one's value and gradient, views into the flat buffers.
    /// The factor op `i`'s weight is used at: He's constant √(2 / fan-in) under an equalised
    /// learning rate (Karras et al. 2018), else none.
    pub(crate) fn weight_scale(&self, i: usize) -> Option<f32> {
        let op = &self.model.ops[i];
        let kind = &op.layer.0;
        (self.model.equalized && kind.scales_weight()).then(|| {
            let input = self.model.shape_of(&self.shapes, op.inputs[0]);
            (2.0 / kind.fan_in(input).max(1) as f64).sqrt() as f32
        })
    }

    pub(crate) fn op_params(&self, i: usize) -> Vec<(Tensor, Tensor)> {
        self.op_param_indices(i)
            .map(|p| (self.params.value(p), self.params.grad(p)))
            .collect()
    }

    /// The indices (in [`ParamSet`]) of op `i`'s parameters.
    pub(crate) fn op_param_indices(&self, i: usize) -> std::ops::Range<usize> {
        let end = self
            .first_param
            .get(i + 1)
            .copied()
            .unwrap_or(self.params.count());
        self.first_param[i]..end
    }

    /// The running mean and variance of each op that keeps them, by op index.
    pub fn running_stats(&self) -> impl Iterator<Item = (usize, (&Tensor, &Tensor))> {
        self.running
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|(m, v)| (i, (m, v))))
    }

    /// The kept power-iteration vectors (u, v) of each spectrally normalised op, by op index.
    pub fn spectral_vectors(&self) -> impl Iterator<Item = (usize, (&Tensor, &Tensor))> {
        self.spectral
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|(u, v)| (i, (u, v))))
    }

    /// The kernels that enforce the model's weight constraints (run after each update).
    pub fn constraints(&self, gpu: &Gpu) -> Result<Vec<Kernel>> {
        let Some(c) = self.model.max_norm else {
            return Ok(Vec::new());
        };
        self.model
            .ops
            .iter()
            .zip(&self.first_param)
            .filter(|(op, _)| op.layer.0.is_dense())
            .map(|(_, &i)| crate::ops::constraint::max_norm(gpu, &self.params.value(i), c))
            .collect()
    }

    /// Records the forward pass on `input` (`[batch, ...input shape]`, the first input):
    /// allocates every activation and builds every kernel now, so running it later creates
    /// nothing.
    pub fn tape(
        &self,
        gpu: &Gpu,
        input: &Tensor,
        mode: Mode,
        rng: RngSpec,
        state: &Tensor,
    ) -> Result<Tape> {
        self.tape_inputs(gpu, &[input], mode, rng, state)
    }

    /// As [`Network::tape`] for a network with several inputs, one tensor each.
    pub fn tape_inputs(
        &self,
        gpu: &Gpu,
        inputs: &[&Tensor],
        mode: Mode,
        rng: RngSpec,
        state: &Tensor,
    ) -> Result<Tape> {
        if inputs.len() != self.model.inputs.len() {
            return Err(Error::shape(
                &self.label,
                format!(
                    "{} input tensors for a network of {} inputs",
                    inputs.len(),
                    self.model.inputs.len()
                ),
            ));
        }
        for (input, shape) in inputs.iter().zip(&self.model.inputs) {
            let sample: usize = shape.iter().product();
            if input.is_empty()
                || !input.len().is_multiple_of(sample)
                || input.len() / input.shape()[0] != sample
            {
                return Err(Error::shape(
                    &self.label,
                    format!(
                        "input {:?} is not a batch of samples of shape {shape:?}",
                        input.shape()
                    ),
                ));
            }
        }
        Tape::record(gpu, self, inputs, mode, rng, state)
    }
}
