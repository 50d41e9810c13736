//! What a layer's forward is given and returns, and what its backward rule is given: the
//! contract between a layer file and the tape.

use crate::gpu::Kernel;
use crate::nn::Mode;
use crate::ops::elementwise::axpby;
use crate::ops::Clock;
use crate::tape::ParamGrads;
use crate::{Gpu, Result, Tensor};

/// One node's forward being recorded: its inputs (with the batch axis), its parameters and
/// where its randomness comes from.
#[derive(Clone)]
pub(crate) struct Forward<'a> {
    pub gpu: &'a Gpu,
    pub mode: Mode,
    pub inputs: Vec<Tensor>,
    /// The output shape, batch first.
    pub out_shape: Vec<usize>,
    /// Each parameter's value and gradient, views into the network's flat buffers.
    pub params: Vec<(Tensor, Tensor)>,
    /// The running mean and variance, for kinds that keep them.
    pub running: Option<(Tensor, Tensor)>,
    /// The factor the weight is used at (an equalised learning rate), when not 1.
    pub weight_scale: Option<f32>,
    /// The weight's spectral normalisation, when it has one.
    pub spectral: Option<SpectralUse>,
    /// The node's own random stream, seed and clock (dropout masks, noise).
    pub seed: u64,
    pub stream: u32,
    pub clock: Clock,
    /// The GPU step counter the random kernels read.
    pub state: &'a Tensor,
    /// The node's name in buffer labels and errors.
    pub label: &'a str,
}

impl Forward<'_> {
    /// The (first) input.
    pub fn x(&self) -> &Tensor {
        &self.inputs[0]
    }

    /// A new output tensor.
    pub fn output(&self) -> Result<Tensor> {
        Tensor::zeros(self.gpu, &self.out_shape, self.label)
    }

    /// The parameter value `i`.
    pub fn param(&self, i: usize) -> &Tensor {
        &self.params[i].0
    }

    /// The output as a view of the input (a layer that is the identity here).
    pub fn identity(&self) -> Result<Tensor> {
        self.x().reshape(&self.out_shape)
    }
}

/// How a forward uses a spectrally normalised weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpectralStep {
    /// One power iteration from the kept u, which it updates (training).
    Iterate,
    /// The kept u and v as they are (evaluation).
    Kept,
    /// The snapshot its primal forward took (a tangent).
    Reuse,
}

/// A spectrally normalised weight's vectors: the kept u and v (the network's), and the
/// tape's snapshot of u', v' and σ that its forward used and its backward reads.
#[derive(Clone)]
pub(crate) struct SpectralUse {
    pub kept: (Tensor, Tensor),
    pub snapshot: (Tensor, Tensor, Tensor),
    pub step: SpectralStep,
}

/// A node's forward-mode derivative being recorded, for the second-order pass a gradient
/// penalty takes (see [`Tape::second_order`](crate::tape::Tape::second_order)).
pub(crate) struct Tangent<'a> {
    /// The node's forward as it was recorded, but reading the inputs' tangents.
    pub f: Forward<'a>,
    /// What the forward read and wrote.
    pub primal_inputs: &'a [Tensor],
    pub primal_output: &'a Tensor,
}

impl Tangent<'_> {
    /// The tangent of a layer linear in its inputs (an affine one without its bias): the same
    /// forward on the tangents, with only the weight. The returned rule is that forward's own
    /// backward, which turns the tangent's cotangent into the inputs' and adds
    /// `tangent cotangent × input tangent` to the weight's gradient.
    pub fn of_linear(&self, kind: &dyn super::Kind) -> Result<Recorded> {
        let mut f = self.f.clone();
        f.params.truncate(1);
        kind.record(&f)
    }
}

/// A layer's backward rule: records the kernels that turn the output gradient into parameter
/// and input gradients. It captures what its forward saved.
pub(crate) type BackwardFn = Box<dyn Fn(&mut Backward<'_>) -> Result<()> + Send + Sync>;

/// What a recorded forward leaves for the tape.
pub(crate) struct Recorded {
    pub output: Tensor,
    pub kernels: Vec<Kernel>,
    pub backward: BackwardFn,
}

impl Recorded {
    /// A node whose output is `output`, written by `kernels`.
    pub fn new(output: Tensor, kernels: Vec<Kernel>, backward: BackwardFn) -> Recorded {
        Recorded {
            output,
            kernels,
            backward,
        }
    }
}

/// Where an input's gradient goes.
pub(crate) enum Dx {
    /// Nobody needs it.
    Unwanted,
    /// Into this tensor (the caller's buffer).
    Into(Tensor),
    /// Into a tensor of the rule's choosing.
    Wanted,
    /// Produced.
    Done(Tensor),
}

/// One node's backward being recorded.
pub(crate) struct Backward<'a> {
    pub gpu: &'a Gpu,
    /// The gradient of the loss at the node's output.
    pub gy: Tensor,
    grads: ParamGrads,
    dx: Vec<Dx>,
    kernels: Vec<Kernel>,
    /// In a tangent's rule: what it adds to each input's primal cotangent (a curvature term).
    primal: Vec<(usize, Tensor)>,
}

impl<'a> Backward<'a> {
    pub fn new(gpu: &'a Gpu, gy: Tensor, grads: ParamGrads, dx: Vec<Dx>) -> Backward<'a> {
        Backward {
            gpu,
            gy,
            grads,
            dx,
            kernels: Vec::new(),
            primal: Vec::new(),
        }
    }

    /// In a tangent's rule: `t` is added to input `i`'s primal cotangent (where the tangent
    /// depends on the input's value, as `σ'(x)·ẋ` does through σ'').
    pub fn add_to_primal(&mut self, i: usize, t: Tensor) {
        self.primal.push((i, t));
    }

    /// The primal cotangents a tangent's rule added, by input.
    pub fn take_primal(&mut self) -> Vec<(usize, Tensor)> {
        std::mem::take(&mut self.primal)
    }

    /// Whether parameter gradients are formed.
    pub fn params(&self) -> bool {
        self.grads != ParamGrads::Skip
    }

    /// Whether parameter gradients add to what the buffer holds.
    pub fn accumulate(&self) -> bool {
        self.grads == ParamGrads::Accumulate
    }

    /// The buffer to write input `i`'s gradient into (shaped like `input`), when wanted.
    pub fn dx(&mut self, i: usize, input: &Tensor) -> Result<Option<Tensor>> {
        let t = match &self.dx[i] {
            Dx::Into(d) => d.reshape(input.shape())?,
            Dx::Wanted => Tensor::zeros(self.gpu, input.shape(), "gradient")?,
            Dx::Unwanted | Dx::Done(_) => return Ok(None),
        };
        self.dx[i] = Dx::Done(t.clone());
        Ok(Some(t))
    }

    /// Input `i`'s gradient is the output gradient seen with `input`'s shape (a view; copied
    /// only into a caller's buffer).
    pub fn pass_through(&mut self, i: usize, input: &Tensor) -> Result<()> {
        self.scaled(i, input, 1.0)
    }

    /// Input `i`'s gradient is `scale` times the output gradient.
    pub fn scaled(&mut self, i: usize, input: &Tensor, scale: f32) -> Result<()> {
        let view = self.gy.reshape(input.shape())?;
        match &self.dx[i] {
            Dx::Wanted if scale == 1.0 => self.dx[i] = Dx::Done(view),
            Dx::Into(_) | Dx::Wanted => {
                let d = self.dx(i, input)?.expect("wanted");
                self.kernels.push(axpby(self.gpu, scale, &view, 0.0, &d)?);
            }
            Dx::Unwanted | Dx::Done(_) => {}
        }
        Ok(())
    }

    /// Adds a kernel.
    pub fn push(&mut self, k: Kernel) {
        self.kernels.push(k);
    }

    /// Adds kernels.
    pub fn extend(&mut self, ks: impl IntoIterator<Item = Kernel>) {
        self.kernels.extend(ks);
    }

    /// The kernels and each input's gradient (`None` where unwanted).
    pub fn finish(self) -> (Vec<Kernel>, Vec<Option<Tensor>>) {
        let grads = self
            .dx
            .into_iter()
            .map(|d| match d {
                Dx::Done(t) => Some(t),
                _ => None,
            })
            .collect();
        (self.kernels, grads)
    }
}
