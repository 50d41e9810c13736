//! pix2pix (Isola et al. 2017): G turns an input x into an image, D judges every patch of
//! the pair (x, image) as real or fake, and G's loss is D's verdict plus λ times the L1
//! distance to the target y. One iteration (a D step on a real and a fake pair, then G's
//! step through the updated D) is recorded once and replayed with one submission per step.
//! With `adversarial: false` G learns from the L1 distance alone: the baseline the
//! adversarial loss must beat.

use std::path::Path;

use super::metrics::{Pix2PixMetrics, SLOTS};
use super::task::Pairs;
use crate::gan::{generate_batched, GanLoss};
use crate::io::checkpoint::{self, Checkpoint, Extras};
use crate::nn::{Graph, Network};
use crate::step::{Recorder, Replayer};
use crate::{Error, Gpu, Optimizer, Result, Tensor};

mod recording;
use recording::{dims, record};

/// The checkpoint note naming the task a translation checkpoint was trained on.
pub const TASK_NOTE: &str = "translation";

/// pix2pix's settings.
#[derive(Clone, Debug)]
pub struct Pix2PixConfig {
    /// Pairs per step.
    pub batch: usize,
    /// Seeds the weights, the data order and the dropout masks.
    pub seed: u64,
    /// λ, the weight of the L1 distance in G's loss (the paper's 100).
    pub l1_weight: f32,
    /// The adversarial loss: BCE (the paper's), least squares or hinge.
    pub loss: GanLoss,
    /// Train D and G against it; `false` trains G on the L1 distance alone.
    pub adversarial: bool,
    /// G's optimiser.
    pub g_optimizer: Optimizer,
    /// D's optimiser (unused without the adversarial loss).
    pub d_optimizer: Optimizer,
    /// Metrics reach the CPU every this many steps.
    pub readback_every: usize,
}

impl Pix2PixConfig {
    /// The paper's recipe at batch `batch`: λ = 100, BCE, Adam 2e-4 (β 0.5, 0.999) for both.
    pub fn paper(batch: usize) -> Pix2PixConfig {
        let adam = Optimizer::Adam {
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        };
        Pix2PixConfig {
            batch,
            seed: 1,
            l1_weight: 100.0,
            loss: GanLoss::Bce,
            adversarial: true,
            g_optimizer: adam,
            d_optimizer: adam,
            readback_every: 10,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.batch == 0 || self.readback_every == 0 {
            return Err(Error::Config(
                "pix2pix: batch and readback_every must be at least 1".into(),
            ));
        }
        if !(self.l1_weight.is_finite() && self.l1_weight >= 0.0) {
            return Err(Error::Config(format!(
                "pix2pix: the L1 weight must be finite and at least 0, got {}",
                self.l1_weight
            )));
        }
        if !self.adversarial && self.l1_weight == 0.0 {
            return Err(Error::Config(
                "pix2pix without D needs an L1 weight above 0: nothing would train G".into(),
            ));
        }
        Ok(())
    }
}

/// What the last step read and made, as the recorded kernels bind them; for inspection and
/// tests (read them with [`Tensor::read`]).
#[derive(Clone)]
pub struct Pix2PixTensors {
    /// The gathered inputs x.
    pub inputs: Tensor,
    /// Their targets y.
    pub targets: Tensor,
    /// G(x).
    pub outputs: Tensor,
    /// The gradient of G's loss at G(x): the adversarial part plus λ·L1's.
    pub output_grad: Tensor,
}

/// Trains pix2pix; see the module documentation.
pub struct Pix2Pix {
    config: Pix2PixConfig,
    gpu: Gpu,
    tensors: Pix2PixTensors,
    replayer: Replayer<Pix2PixMetrics>,
    g: Network,
    d: Option<Network>,
    notes: Vec<(String, String)>,
}

impl Pix2Pix {
    /// Checks that G, D and the pairs fit together, builds both networks and records a whole
    /// iteration. G reads an input and makes a target; D reads `[input | target]` stacked on
    /// the channels and gives a map of logits (any shape). `d` may be `None` only without
    /// the adversarial loss.
    pub fn new(
        gpu: &Gpu,
        g: impl Into<Graph>,
        d: Option<Graph>,
        pairs: &Pairs,
        config: Pix2PixConfig,
    ) -> Result<Pix2Pix> {
        config.validate()?;
        let g: Graph = g.into();
        let (x_shape, y_shape) = (pairs.inputs.shape(), pairs.targets.shape());
        let g_out = g.output_shape()?;
        if g.input_shape() != x_shape || g_out != y_shape {
            return Err(Error::shape(
                "pix2pix",
                format!(
                    "G maps {:?} to {g_out:?}, but the pairs are {x_shape:?} → {y_shape:?}",
                    g.input_shape()
                ),
            ));
        }
        let ([cx, hx, wx], [cy, hy, wy]) = (dims(x_shape)?, dims(y_shape)?);
        if (hx, wx) != (hy, wy) {
            return Err(Error::shape(
                "pix2pix",
                format!("inputs {x_shape:?} and targets {y_shape:?} differ in size"),
            ));
        }
        let d = match (d, config.adversarial) {
            (Some(d), true) => {
                let pair = [cx + cy, hx, wx];
                if d.input_shape() != pair {
                    return Err(Error::shape(
                        "pix2pix",
                        format!(
                            "D reads {:?}; it must read an input and its target stacked, {pair:?}",
                            d.input_shape()
                        ),
                    ));
                }
                Some(Network::new(gpu, "D", d, config.seed ^ 0xD_0000)?)
            }
            (None, true) => {
                return Err(Error::Config(
                    "pix2pix with the adversarial loss needs a discriminator".into(),
                ))
            }
            (_, false) => None,
        };
        let g = Network::new(gpu, "G", g, config.seed ^ 0x6_0000)?;
        let mut rec = Recorder::new(gpu, config.seed, SLOTS.len())?;
        let tensors = record(&mut rec, &config, pairs, &g, d.as_ref())?;
        let replayer = rec.finish(config.readback_every, &SLOTS, "pix2pix step")?;
        Ok(Pix2Pix {
            config,
            gpu: gpu.clone(),
            replayer,
            g,
            d,
            notes: Vec::new(),
            tensors,
        })
    }

    /// What the last step read and made.
    pub fn step_tensors(&self) -> &Pix2PixTensors {
        &self.tensors
    }

    /// Runs one iteration: one encoder, one submission. A NaN or Inf in the metrics is
    /// returned as [`Error::Diverged`] naming the step.
    pub fn step(&mut self) -> Result<()> {
        self.replayer.step()
    }

    /// Waits for the GPU and collects the metrics of every step run so far.
    pub fn flush(&mut self) -> Result<()> {
        self.replayer.flush()
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.replayer.steps()
    }

    /// Every step's metrics that have reached the CPU, in order.
    pub fn history(&self) -> &[Pix2PixMetrics] {
        self.replayer.collected()
    }

    /// The most recent metrics that have reached the CPU.
    pub fn metrics(&self) -> Option<&Pix2PixMetrics> {
        self.replayer.collected().last()
    }

    /// Number of dispatches in one iteration.
    pub fn dispatches(&self) -> usize {
        self.replayer.kernels().len()
    }

    /// The generator.
    pub fn generator(&self) -> &Network {
        &self.g
    }

    /// The discriminator (`None` for the L1-only baseline).
    pub fn discriminator(&self) -> Option<&Network> {
        self.d.as_ref()
    }

    /// The settings.
    pub fn config(&self) -> &Pix2PixConfig {
        &self.config
    }

    /// Text for checkpoints to keep (the task, the settings of the run).
    pub fn set_notes(&mut self, notes: Vec<(String, String)>) {
        self.notes = notes;
    }

    /// G's translation of `inputs` (whole inputs, row-major), a training batch at a time in
    /// generate mode (batch statistics, dropout off). Blocking.
    pub fn translate(&self, inputs: &[f32]) -> Result<Vec<f32>> {
        translate(&self.gpu, &self.g, inputs, self.config.batch)
    }

    /// Saves G, D (with their optimisers' moments), the step counter, the metrics and the
    /// notes, atomically; flushes first, so a diverged state is refused rather than saved.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.replayer.flush()?;
        let mut nets = vec![("G", &self.g)];
        nets.extend(self.d.iter().map(|d| ("D", d)));
        checkpoint::save_with(
            &self.gpu,
            path,
            &nets,
            Extras {
                notes: &self.notes,
                ..Extras::default()
            },
            Some(self.replayer.state()),
            self.replayer.collected(),
            &[],
        )
    }

    /// Continues from a checkpoint [`Pix2Pix::save`] wrote for the same networks: weights,
    /// moments, the step counter (so the data order and dropout pick up where they were) and
    /// the metrics.
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let ckpt = Checkpoint::open(path)?;
        ckpt.load_network(&self.gpu, "G", &self.g, true)?;
        if let Some(d) = &self.d {
            ckpt.load_network(&self.gpu, "D", d, true)?;
        }
        let state = ckpt.state()?.ok_or_else(|| Error::Data {
            path: path.to_path_buf(),
            message: "has no step counter; it holds networks only and cannot resume training"
                .into(),
        })?;
        self.replayer.restore(state, ckpt.rows(SLOTS.len())?)
    }
}

/// Generator `g`'s translation of `inputs` (whole inputs of its input shape, row-major),
/// `batch` at a time in generate mode. Blocking; for pictures and measurements.
pub fn translate(gpu: &Gpu, g: &Network, inputs: &[f32], batch: usize) -> Result<Vec<f32>> {
    generate_batched(gpu, g, inputs, batch)
}
