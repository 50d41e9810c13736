//! Recording a GAN iteration, the parts every trainer shares: k D updates on a real and a
//! fake input each, then G's update through the updated D, the weight average and the
//! metrics row. What the inputs are (labels, instance noise, replayed fakes) is the
//! trainer's.

use crate::gan::ema::Ema;
use crate::gan::readback::{self, Readback, SLOTS};
use crate::gan::runner::GanRunner;
use crate::gan::sample::STREAM_SAMPLE;
use crate::gan::{GLoss, GanLoss, Noise};
use crate::gpu::Kernel;
use crate::nn::{Mode, Network, RngSpec, Sequential};
use crate::ops::data::record;
use crate::ops::loss::{bce_logits, hinge_generator, hinge_logits, BceOut};
use crate::ops::{rng, Clock};
use crate::tape::{ParamGrads, Tape};
use crate::{Gpu, Optimizer, Result, Tensor};

/// RNG streams: every random use in an iteration draws from its own stream. Dropout masks
/// use stream·64 + layer of their tape's stream, so the direct streams stay below 16·64.
pub(crate) const STREAM_Z: u32 = 1;
const STREAM_G: u32 = 16;
const STREAM_D: u32 = 1024;

/// An iteration being recorded: the networks, the step counter and metrics its kernels
/// share, and the kernels and tapes so far.
pub(crate) struct Iteration {
    pub(crate) gpu: Gpu,
    pub(crate) g: Network,
    pub(crate) d: Network,
    pub(crate) seed: u64,
    pub(crate) batch: usize,
    d_steps: usize,
    loss: GanLoss,
    pub(crate) state: Tensor,
    metrics: Tensor,
    /// Targets 1 and 0 for a batch's logits.
    pub(crate) ones: Tensor,
    pub(crate) zeros: Tensor,
    pub(crate) kernels: Vec<Kernel>,
    tapes: Vec<Tape>,
}

impl Iteration {
    /// Builds G and D (seeded from `seed`) and the tensors every step shares.
    pub(crate) fn new(
        gpu: &Gpu,
        (g, d): (Sequential, Sequential),
        seed: u64,
        batch: usize,
        d_steps: usize,
        loss: GanLoss,
    ) -> Result<Iteration> {
        let b = batch;
        Ok(Iteration {
            gpu: gpu.clone(),
            g: Network::new(gpu, "G", g, seed ^ 0x6_0000)?,
            d: Network::new(gpu, "D", d, seed ^ 0xD_0000)?,
            seed,
            batch,
            d_steps,
            loss,
            state: Tensor::zeros(gpu, &[4], "step counter")?,
            metrics: Tensor::zeros(gpu, &[SLOTS], "metrics")?,
            ones: Tensor::from_slice(gpu, &vec![1.0; b], &[b, 1], "real targets")?,
            zeros: Tensor::zeros(gpu, &[b, 1], "fake targets")?,
            kernels: Vec::new(),
            tapes: Vec::new(),
        })
    }

    /// The clock of D step `j`: the counter advances once per iteration, each D step draws
    /// its own values.
    pub(crate) fn clock(&self, j: usize) -> Clock {
        Clock {
            mul: self.d_steps as u32,
            add: j as u32,
        }
    }

    /// The clock of the G step: that of the last D step, whose fakes it reuses.
    pub(crate) fn g_clock(&self) -> Clock {
        self.clock(self.d_steps - 1)
    }

    /// Fresh latent vectors of `shape` for D step `j`.
    pub(crate) fn z(&mut self, noise: Noise, shape: &[usize], j: usize) -> Result<Tensor> {
        let z = Tensor::zeros(&self.gpu, shape, "z")?;
        let clock = self.clock(j);
        let fill = rng::fill(
            &self.gpu,
            noise.distribution(),
            self.seed,
            STREAM_Z,
            clock,
            &self.state,
            &z,
        )?;
        self.kernels.push(fill);
        Ok(z)
    }

    /// G in training mode on `input` for D step `j`, its forward recorded.
    pub(crate) fn g_forward(&mut self, input: &Tensor, j: usize) -> Result<Tape> {
        let rng = RngSpec {
            seed: self.seed,
            stream: STREAM_G + j as u32,
            clock: self.clock(j),
        };
        let tape = self
            .g
            .tape(&self.gpu, input, Mode::Train, rng, &self.state)?;
        self.kernels.extend_from_slice(tape.forward());
        Ok(tape)
    }

    /// Keeps a tape alive for as long as the recorded kernels.
    pub(crate) fn keep(&mut self, tape: Tape) {
        self.tapes.push(tape);
    }

    /// D step `j`: D on `real` and on `fake`, the loss against each batch's targets (their
    /// mean over the batch, summed), both gradients into D's and `optimizer`'s step.
    pub(crate) fn d_update(
        &mut self,
        j: usize,
        (real, real_targets): (&Tensor, &Tensor),
        (fake, fake_targets): (&Tensor, &Tensor),
        optimizer: &Optimizer,
    ) -> Result<()> {
        let (gpu, b, clock) = (&self.gpu, self.batch, self.clock(j));
        let d_rng = |s: u32| RngSpec {
            seed: self.seed,
            stream: STREAM_D + 4 * j as u32 + s,
            clock,
        };
        let d_real = self.d.tape(gpu, real, Mode::Train, d_rng(0), &self.state)?;
        let d_fake = self.d.tape(gpu, fake, Mode::Train, d_rng(1), &self.state)?;
        let grad_real = Tensor::zeros(gpu, &[b, 1], "dD(x)")?;
        let grad_fake = Tensor::zeros(gpu, &[b, 1], "dD(G(z))")?;
        let mean = BceOut {
            loss_slot: readback::D_LOSS,
            prob_slot: readback::D_REAL,
            accumulate: false,
            grad_scale: 1.0 / b as f32,
            sign: 1.0,
        };
        let fake_out = BceOut {
            accumulate: true,
            prob_slot: readback::D_FAKE,
            ..mean
        };
        let loss = |logits: &Tensor, targets: &Tensor, grad: &Tensor, out| match self.loss {
            GanLoss::Bce => bce_logits(gpu, logits, targets, grad, &self.metrics, out),
            GanLoss::Hinge => hinge_logits(gpu, logits, targets, grad, &self.metrics, out),
        };
        let mut k = Vec::new();
        k.extend_from_slice(d_real.forward());
        k.extend_from_slice(d_fake.forward());
        k.push(loss(d_real.output(), real_targets, &grad_real, mean)?);
        k.push(loss(d_fake.output(), fake_targets, &grad_fake, fake_out)?);
        k.extend(d_real.backward(gpu, &grad_real, ParamGrads::Write, None)?);
        k.extend(d_fake.backward(gpu, &grad_fake, ParamGrads::Accumulate, None)?);
        k.push(optimizer.step_params(gpu, clock, &self.state, self.d.params())?);
        k.extend(self.d.constraints(gpu)?);
        self.kernels.extend(k);
        self.tapes.extend([d_real, d_fake]);
        Ok(())
    }

    /// G's loss on D's logits for `input` (D as updated, its parameters untouched) and the
    /// gradient of that loss at `input`, which is returned.
    pub(crate) fn g_loss_gradient(&mut self, input: &Tensor, g_loss: GLoss) -> Result<Tensor> {
        let (gpu, b) = (&self.gpu, self.batch);
        let rng = RngSpec {
            seed: self.seed,
            stream: STREAM_D - 1,
            clock: self.g_clock(),
        };
        let d_g = self.d.tape(gpu, input, Mode::Train, rng, &self.state)?;
        self.kernels.extend_from_slice(d_g.forward());
        let grad_logit = Tensor::zeros(gpu, &[b, 1], "dD(G(z)) for G")?;
        let (targets, sign) = match g_loss {
            GLoss::NonSaturating => (&self.ones, 1.0),
            GLoss::Minimax => (&self.zeros, -1.0),
        };
        let out = BceOut {
            loss_slot: readback::G_LOSS,
            prob_slot: readback::D_FAKE_G,
            accumulate: false,
            grad_scale: 1.0 / b as f32,
            sign,
        };
        let (logits, metrics) = (d_g.output(), &self.metrics);
        self.kernels.push(match self.loss {
            GanLoss::Bce => bce_logits(gpu, logits, targets, &grad_logit, metrics, out)?,
            GanLoss::Hinge => {
                let out = BceOut { sign: 1.0, ..out };
                hinge_generator(gpu, logits, &grad_logit, metrics, out)?
            }
        });
        let grad = Tensor::zeros(gpu, input.shape(), "dD input for G")?;
        let back = d_g.backward(gpu, &grad_logit, ParamGrads::Skip, Some(&grad))?;
        self.kernels.extend(back);
        self.tapes.push(d_g);
        Ok(grad)
    }

    /// G's update from the gradient at its output `g_tape` produced, then the weight
    /// average's when `g_ema` is set.
    pub(crate) fn g_update(
        &mut self,
        g_tape: Tape,
        grad: &Tensor,
        optimizer: &Optimizer,
        g_ema: Option<f32>,
    ) -> Result<Option<Ema>> {
        let gpu = &self.gpu;
        let back = g_tape.backward(gpu, grad, ParamGrads::Write, None)?;
        self.kernels.extend(back);
        let step = optimizer.step_params(gpu, Clock::ITERATION, &self.state, self.g.params())?;
        self.kernels.push(step);
        self.kernels.extend(self.g.constraints(gpu)?);
        self.tapes.push(g_tape);
        g_ema
            .map(|decay| Ema::new(gpu, &self.g, decay, &mut self.kernels))
            .transpose()
    }

    /// Ends the recording with the metrics row of a history of `readback_every` rows, and
    /// hands it to a runner that samples from the weight average (else G) on `fixed_input`.
    pub(crate) fn finish(
        mut self,
        ema: Option<Ema>,
        fixed_input: &Tensor,
        readback_every: usize,
        what: &'static str,
    ) -> Result<GanRunner> {
        let gpu = &self.gpu;
        let rows = readback_every;
        let history = Tensor::zeros(gpu, &[rows * (SLOTS + 1)], "metrics history")?;
        self.kernels
            .push(record(gpu, &self.state, &self.metrics, &history)?);
        let rng = RngSpec {
            seed: self.seed,
            stream: STREAM_SAMPLE,
            clock: Clock::ITERATION,
        };
        let sampled = ema.as_ref().map_or(&self.g, Ema::network);
        let sampler = sampled.tape(gpu, fixed_input, Mode::Generate, rng, &self.state)?;
        Ok(GanRunner {
            readback: Readback::new(gpu, rows),
            gpu: self.gpu,
            g: self.g,
            d: self.d,
            ema,
            kernels: self.kernels,
            what,
            state: self.state,
            history,
            readback_every: rows as u64,
            steps: 0,
            sampler,
            quality: Vec::new(),
            _tapes: self.tapes,
        })
    }
}
