//! Recording a GAN iteration, the parts every GAN trainer shares: k D updates on a real and a
//! fake input each (through the configured stabilisers), then G's update through the updated
//! D, the weight average and the metrics row. What G reads and how its samples reach D
//! (labels, maps) is the trainer's.

use crate::gan::ema::{Ema, EMA_NETWORK};
use crate::gan::run::GanRun;
use crate::gan::stabilisers::Stabilisers;
use crate::gan::{streams, GLoss, GanLoss, GradientPenalty, TrainerConfig};
use crate::metrics::{self, GAN_SLOTS};
use crate::nn::{Graph, Mode, Network};
use crate::ops::loss::{
    bce_logits, hinge_generator, hinge_logits, least_squares, wasserstein, BceOut,
};
use crate::ops::penalty::{interpolate, norm_penalty, NormPenalty};
use crate::ops::stabilise::Draws;
use crate::ops::{rng, Clock};
use crate::step::Recorder;
use crate::tape::{ParamGrads, Tape};
use crate::{Gpu, Result, Tensor};

/// An iteration being recorded: the networks, the configuration and the step so far.
pub(crate) struct Iteration {
    pub(crate) rec: Recorder,
    pub(crate) g: Network,
    pub(crate) d: Network,
    pub(crate) config: TrainerConfig,
    pub(crate) stabilisers: Stabilisers,
    /// The values of each sample D reads that a gradient penalty counts and WGAN-GP's
    /// interpolates mix (a conditional D's image before its label maps, which the
    /// interpolates take from the real sample); `None` for all.
    pub(crate) penalised_part: Option<usize>,
    /// Targets 1 and 0 for a batch's logits.
    ones: Tensor,
    zeros: Tensor,
}

impl Iteration {
    /// Builds G and D (seeded from the configuration's seed) and what every step shares;
    /// `replayed` names the parts of a fake sample a replay buffer keeps, with their shapes.
    pub(crate) fn new(
        gpu: &Gpu,
        (g, d): (impl Into<Graph>, impl Into<Graph>),
        config: &TrainerConfig,
        replayed: &[(&'static str, &[usize])],
    ) -> Result<Iteration> {
        let (b, seed) = (config.batch, config.seed);
        let g = Network::new(gpu, "G", g, seed ^ 0x6_0000)?;
        let d = Network::new(gpu, "D", d, seed ^ 0xD_0000)?;
        let rec = Recorder::new(gpu, seed, GAN_SLOTS.len())?;
        let ones = Tensor::from_slice(gpu, &vec![1.0; b], &[b, 1], "real targets")?;
        let zeros = Tensor::zeros(gpu, &[b, 1], "fake targets")?;
        let stabilisers = Stabilisers::new(gpu, config, replayed, (&ones, &zeros))?;
        Ok(Iteration {
            rec,
            g,
            d,
            config: config.clone(),
            stabilisers,
            penalised_part: None,
            ones,
            zeros,
        })
    }

    /// The clock of D step `j`: the counter advances once per iteration, each D step draws
    /// its own values.
    pub(crate) fn clock(&self, j: usize) -> Clock {
        Clock {
            mul: self.config.d_steps as u32,
            add: j as u32,
        }
    }

    /// The clock of the G step: that of the last D step, whose fakes it reuses.
    pub(crate) fn g_clock(&self) -> Clock {
        self.clock(self.config.d_steps - 1)
    }

    /// Fresh latent vectors of `shape` for D step `j`.
    pub(crate) fn z(&mut self, shape: &[usize], j: usize) -> Result<Tensor> {
        let rec = &self.rec;
        let z = Tensor::zeros(&rec.gpu, shape, "z")?;
        let dist = self.config.noise.distribution();
        let clock = self.clock(j);
        let first = rec.shard().draw_offset(z.len());
        let draw = (rec.seed, streams::Z, clock);
        let fill = rng::fill_at(&rec.gpu, dist, draw, first, &rec.state, &z)?;
        self.rec.push(fill);
        Ok(z)
    }

    /// G in training mode on `input` for D step `j`, its forward recorded.
    pub(crate) fn g_forward(&mut self, input: &Tensor, j: usize) -> Result<Tape> {
        let rng = self.rec.rng(streams::G + j as u32, self.clock(j));
        let tape = self
            .g
            .tape(&self.rec.gpu, input, Mode::Train, rng, &self.rec.state)?;
        self.rec.forward(&tape);
        Ok(tape)
    }

    /// D step `j` on what D reads of the real and the fake batch: both forwards, the loss
    /// against the stabilisers' targets (each batch's mean, summed), both gradients into D's
    /// and the optimiser's step.
    pub(crate) fn d_update(&mut self, j: usize, real: &Tensor, fake: &Tensor) -> Result<()> {
        let (gpu, b, clock) = (&self.rec.gpu.clone(), self.config.batch, self.clock(j));
        let state = &self.rec.state.clone();
        let d_rng = |s: u32| self.rec.rng(streams::D + 4 * j as u32 + s, clock);
        let d_real = self.d.tape(gpu, real, Mode::Train, d_rng(0), state)?;
        let d_fake = self.d.tape(gpu, fake, Mode::Train, d_rng(1), state)?;
        let grad_real = Tensor::zeros(gpu, &[b, 1], "dD(x)")?;
        let grad_fake = Tensor::zeros(gpu, &[b, 1], "dD(G(z))")?;
        let mean = BceOut {
            loss_slot: metrics::D_LOSS,
            prob_slot: metrics::D_REAL,
            accumulate: false,
            grad_scale: 1.0 / b as f32,
            sign: 1.0,
        };
        let fake_out = BceOut {
            accumulate: true,
            prob_slot: metrics::D_FAKE,
            ..mean
        };
        let m = &self.rec.metrics.clone();
        let loss = |logits: &Tensor, targets: &Tensor, grad: &Tensor, out| match self.config.loss {
            GanLoss::Bce => bce_logits(gpu, logits, targets, grad, m, out),
            GanLoss::Hinge => hinge_logits(gpu, logits, targets, grad, m, out),
            GanLoss::LeastSquares => least_squares(gpu, logits, targets, grad, m, out),
            GanLoss::Wasserstein => wasserstein(gpu, logits, targets, grad, m, out),
        };
        let (real_targets, fake_targets) = (
            &self.stabilisers.real_targets,
            &self.stabilisers.fake_targets,
        );
        let k = [
            loss(d_real.output(), real_targets, &grad_real, mean)?,
            loss(d_fake.output(), fake_targets, &grad_fake, fake_out)?,
        ];
        self.rec.forward(&d_real);
        self.rec.forward(&d_fake);
        self.rec.extend(k);
        self.rec
            .extend(d_real.backward(gpu, &grad_real, ParamGrads::Write, None)?);
        self.rec
            .extend(d_fake.backward(gpu, &grad_fake, ParamGrads::Accumulate, None)?);
        if let Some(penalty) = self.config.penalty {
            let d_rng = self.rec.rng(streams::D + 4 * j as u32 + 2, clock);
            self.penalise(penalty, j, (real, fake), &d_real, d_rng)?;
        }
        self.rec
            .optimise(&self.config.d_optimizer, clock, &self.d)?;
        self.rec.extend(self.d.constraints(gpu)?);
        self.rec.keep(d_real);
        self.rec.keep(d_fake);
        Ok(())
    }

    /// D step `j`'s gradient penalty: its input gradient at the interpolates (a tape of
    /// their own) or at the real batch (`d_real`'s), the penalty and its gradient, and the
    /// second-order pass that adds the penalty's gradient to D's.
    fn penalise(
        &mut self,
        penalty: GradientPenalty,
        j: usize,
        (real, fake): (&Tensor, &Tensor),
        d_real: &Tape,
        rng: crate::nn::RngSpec,
    ) -> Result<()> {
        let (gpu, state) = (&self.rec.gpu.clone(), &self.rec.state.clone());
        let every = penalty.every();
        let mixed = match penalty {
            GradientPenalty::Interpolates { .. } => {
                let mixed = Tensor::zeros(gpu, real.shape(), "interpolates")?;
                let draws = Draws {
                    seed: self.rec.seed,
                    stream: self.rec.shard().own_stream(streams::PENALTY),
                    clock: self.clock(j),
                };
                let part = self.penalised_part;
                self.rec
                    .push(interpolate(gpu, draws, state, (real, fake), &mixed, part)?);
                Some(self.d.tape(gpu, &mixed, Mode::Train, rng, state)?)
            }
            GradientPenalty::Real { .. } => None,
        };
        let tape = mixed.as_ref().unwrap_or(d_real);
        let g = Tensor::zeros(gpu, tape.input().shape(), "D's input gradient")?;
        let v = Tensor::zeros(gpu, g.shape(), "the penalty's gradient at it")?;
        let (weight, center) = penalty.weight_center();
        let pen = NormPenalty {
            weight,
            center,
            slot: metrics::PENALTY,
            part: self.penalised_part,
        };
        let mut kernels = match &mixed {
            Some(t) => t.forward().to_vec(),
            None => Vec::new(),
        };
        kernels.extend(tape.backward(gpu, &self.ones, ParamGrads::Skip, Some(&g))?);
        kernels.push(norm_penalty(gpu, pen, &g, &v, &self.rec.metrics)?);
        kernels.extend(tape.second_order(gpu, &v, &[&self.ones])?);
        self.rec.periodic(every, kernels);
        if let Some(tape) = mixed {
            self.rec.keep(tape);
        }
        Ok(())
    }

    /// G's loss on D's logits for `input` (D as updated, its parameters untouched) and the
    /// gradient of that loss at `input`, which is returned.
    pub(crate) fn g_loss_gradient(&mut self, input: &Tensor) -> Result<Tensor> {
        let (gpu, b) = (&self.rec.gpu.clone(), self.config.batch);
        let rng = self.rec.rng(streams::D - 1, self.g_clock());
        let d_g = self.d.tape(gpu, input, Mode::Train, rng, &self.rec.state)?;
        self.rec.forward(&d_g);
        let grad_logit = Tensor::zeros(gpu, &[b, 1], "dD(G(z)) for G")?;
        let (targets, sign) = match self.config.g_loss {
            GLoss::NonSaturating => (&self.ones, 1.0),
            GLoss::Minimax => (&self.zeros, -1.0),
        };
        let out = BceOut {
            loss_slot: metrics::G_LOSS,
            prob_slot: metrics::D_FAKE_G,
            accumulate: false,
            grad_scale: 1.0 / b as f32,
            sign,
        };
        let (logits, m) = (d_g.output(), &self.rec.metrics);
        let loss = match self.config.loss {
            GanLoss::Bce => bce_logits(gpu, logits, targets, &grad_logit, m, out)?,
            GanLoss::Hinge => {
                let out = BceOut { sign: 1.0, ..out };
                hinge_generator(gpu, logits, &grad_logit, m, out)?
            }
            GanLoss::LeastSquares => least_squares(gpu, logits, targets, &grad_logit, m, out)?,
            GanLoss::Wasserstein => wasserstein(gpu, logits, targets, &grad_logit, m, out)?,
        };
        self.rec.push(loss);
        let grad = Tensor::zeros(gpu, input.shape(), "dD input for G")?;
        let back = d_g.backward(gpu, &grad_logit, ParamGrads::Skip, Some(&grad))?;
        self.rec.extend(back);
        self.rec.keep(d_g);
        Ok(grad)
    }

    /// G's update from the gradient at its output `g_tape` produced, then the weight
    /// average's when the configuration keeps one.
    pub(crate) fn g_update(&mut self, g_tape: Tape, grad: &Tensor) -> Result<Option<Ema>> {
        let gpu = &self.rec.gpu.clone();
        let back = g_tape.backward(gpu, grad, ParamGrads::Write, None)?;
        self.rec.extend(back);
        self.rec
            .optimise(&self.config.g_optimizer, Clock::ITERATION, &self.g)?;
        self.rec.extend(self.g.constraints(gpu)?);
        self.rec.keep(g_tape);
        let Some(decay) = self.config.g_ema else {
            return Ok(None);
        };
        let mut update = Vec::new();
        let ema = Ema::new(gpu, &self.g, EMA_NETWORK, decay, &mut update)?;
        self.rec.extend(update);
        Ok(Some(ema))
    }

    /// Ends the recording with the metrics row, and hands it to a runner that samples from
    /// the weight average (else G) on `fixed_input`.
    pub(crate) fn finish(
        self,
        ema: Option<Ema>,
        fixed_input: &Tensor,
        what: &'static str,
    ) -> Result<GanRun> {
        let gpu = self.rec.gpu.clone();
        let rings = self.stabilisers.rings();
        let kept = rings.iter().map(|r| (r.name, r.ring.clone())).collect();
        let rng = self.rec.rng(streams::SAMPLE, Clock::ITERATION);
        let sampled = ema.as_ref().map_or(&self.g, Ema::network);
        let sampler = sampled.tape(&gpu, fixed_input, Mode::Generate, rng, &self.rec.state)?;
        let every = self.config.readback_every;
        let replayer = self.rec.finish(every, &GAN_SLOTS, what)?;
        Ok(GanRun {
            gpu,
            replayer,
            g: self.g,
            d: self.d,
            ema,
            sampler,
            tensors: kept,
            quality: Vec::new(),
            notes: Vec::new(),
        })
    }
}
