//! A network: its model description and its parameters on the GPU.

use crate::gpu::Kernel;
use crate::nn::{Layer, ParamSet, Sequential};
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
    pub seed: u64,
    pub stream: u32,
    pub clock: Clock,
}

/// A model with its parameters on the GPU. A clone is a second handle to the same GPU
/// parameters (e.g. an eval-mode view of a network in training).
#[derive(Clone)]
pub struct Network {
    pub(crate) model: Sequential,
    pub(crate) params: ParamSet,
    /// For each layer, the index of its first parameter.
    pub(crate) first_param: Vec<usize>,
    /// For each batch-norm layer, its running mean and variance.
    pub(crate) running: Vec<Option<(Tensor, Tensor)>>,
    label: String,
}

impl Network {
    /// Allocates and initialises the parameters of `model`, drawn from `seed`.
    pub fn new(gpu: &Gpu, label: &str, model: Sequential, seed: u64) -> Result<Network> {
        let mut shape = model.input.clone();
        let mut init = Vec::new();
        let mut first_param = Vec::new();
        let mut running = Vec::new();
        for (li, layer) in model.layers.iter().enumerate() {
            first_param.push(init.len());
            let fan_in = layer.fan_in(&shape);
            for (pi, ps) in layer.param_shapes(&shape).into_iter().enumerate() {
                let len: usize = ps.iter().product();
                // Check before drawing: a layer too large for the device must not first fill
                // the host's memory.
                let what = if pi == 0 { "weight" } else { "bias" };
                let bytes = (len as u64).saturating_mul(4);
                gpu.check_size(
                    &format!("{label} layer {li} {} {what}", layer.name()),
                    bytes,
                )?;
                let mut values = model
                    .init
                    .draw(seed, init.len() as u32, len, fan_in, pi > 0);
                if let Layer::BatchNorm { .. } = layer {
                    // γ starts at 1 (plus N(0, std²) under a normal init, as DCGAN does), β at 0.
                    values = match (pi, model.init) {
                        (0, crate::Init::Normal(_)) => values.iter().map(|v| 1.0 + v).collect(),
                        (0, _) => vec![1.0; len],
                        _ => vec![0.0; len],
                    };
                }
                init.push((ps, values));
            }
            running.push(match layer {
                Layer::BatchNorm { .. } => {
                    let c = shape[0];
                    let name = format!("{label} layer {li} batch_norm running");
                    Some((
                        Tensor::zeros(gpu, &[c], &name)?,
                        Tensor::from_slice(gpu, &vec![1.0; c], &[c], &name)?,
                    ))
                }
                _ => None,
            });
            shape = layer.output_shape(&shape).map_err(|e| match e {
                Error::Shape { op, detail } => {
                    Error::shape(format!("{label} layer {li} ({op})"), detail)
                }
                e => e,
            })?;
        }
        let params = ParamSet::new(gpu, label, &init)?;
        Ok(Network {
            model,
            params,
            first_param,
            running,
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

    /// The first `layers` layers as a network of their own that shares this one's parameters
    /// and statistics (e.g. D up to the features that feature matching compares).
    pub fn prefix(&self, layers: usize) -> Result<Network> {
        if layers == 0 || layers > self.model.layers.len() {
            return Err(Error::shape(
                &self.label,
                format!(
                    "a prefix of {layers} layers of a network of {}",
                    self.model.layers.len()
                ),
            ));
        }
        let mut net = self.clone();
        net.model.layers.truncate(layers);
        net.first_param.truncate(layers);
        net.running.truncate(layers);
        Ok(net)
    }

    /// The model description.
    pub fn model(&self) -> &Sequential {
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

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.model.layers
    }

    /// The running mean and variance of each batch-norm layer, by layer index.
    pub fn running_stats(&self) -> impl Iterator<Item = (usize, (&Tensor, &Tensor))> {
        self.running
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|(m, v)| (i, (m, v))))
    }

    /// The kernels that enforce the model's weight constraints (run after each update).
    pub fn constraints(&self, gpu: &Gpu) -> Result<Vec<Kernel>> {
        let Some(c) = self.model.max_norm else {
            return Ok(Vec::new());
        };
        self.model
            .layers
            .iter()
            .zip(&self.first_param)
            .filter(|(l, _)| matches!(l, Layer::Linear { .. }))
            .map(|(_, &i)| crate::ops::constraint::max_norm(gpu, &self.params.value(i), c))
            .collect()
    }

    /// Records the forward pass on `input` (`[batch, ...input shape]`): allocates every
    /// activation and builds every kernel now, so running it later creates nothing.
    pub fn tape(
        &self,
        gpu: &Gpu,
        input: &Tensor,
        mode: Mode,
        rng: RngSpec,
        state: &Tensor,
    ) -> Result<Tape> {
        let sample: usize = self.model.input.iter().product();
        if input.is_empty()
            || !input.len().is_multiple_of(sample)
            || input.len() / input.shape()[0] != sample
        {
            return Err(Error::shape(
                &self.label,
                format!(
                    "input {:?} is not a batch of samples of shape {:?}",
                    input.shape(),
                    self.model.input
                ),
            ));
        }
        Tape::record(gpu, self, input, mode, rng, state)
    }
}
