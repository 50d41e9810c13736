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

/// A model with its parameters on the GPU.
pub struct Network {
    pub(crate) model: Sequential,
    pub(crate) params: ParamSet,
    /// For each layer, the index of its first parameter.
    pub(crate) first_param: Vec<usize>,
    label: String,
}

impl Network {
    /// Allocates and initialises the parameters of `model`, drawn from `seed`.
    pub fn new(gpu: &Gpu, label: &str, model: Sequential, seed: u64) -> Result<Network> {
        let mut shape = model.input.clone();
        let mut init = Vec::new();
        let mut first_param = Vec::new();
        for (li, layer) in model.layers.iter().enumerate() {
            first_param.push(init.len());
            let fan_in: usize = shape.iter().product();
            for (pi, ps) in layer.param_shapes(&shape).into_iter().enumerate() {
                let len: usize = ps.iter().product();
                // Check before drawing: a layer too large for the device must not first fill
                // the host's memory.
                let what = if pi == 0 { "weight" } else { "bias" };
                let bytes = (len as u64).saturating_mul(4);
                gpu.check_size(&format!("{label} layer {li} {} {what}", layer.name()), bytes)?;
                let values = model
                    .init
                    .draw(seed, init.len() as u32, len, fan_in, pi > 0);
                init.push((ps, values));
            }
            shape = layer.output_shape(&shape).map_err(|e| match e {
                Error::Shape { op, detail } => Error::shape(format!("{label} layer {li} ({op})"), detail),
                e => e,
            })?;
        }
        let params = ParamSet::new(gpu, label, &init)?;
        Ok(Network {
            model,
            params,
            first_param,
            label: label.to_string(),
        })
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
    pub fn tape(&self, gpu: &Gpu, input: &Tensor, mode: Mode, rng: RngSpec, state: &Tensor) -> Result<Tape> {
        let sample: usize = self.model.input.iter().product();
        if input.is_empty() || input.len() % sample != 0 || input.len() / input.shape()[0] != sample {
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
