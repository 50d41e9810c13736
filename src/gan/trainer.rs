//! The trainer: G, D, their optimisers and losses, recorded once into the kernels of one
//! iteration and replayed with one command encoder and one submission per step.

use crate::gan::ema::{Ema, EMA_NETWORK};
use crate::gan::readback::{self, Readback, StepMetrics, SLOTS};
use crate::gan::sample::STREAM_SAMPLE;
use crate::gan::{GLoss, GanLoss, TrainerConfig};
use crate::gpu::Kernel;
use crate::io::checkpoint::Extras;
use crate::io::metrics_log::QualityPoint;
use crate::nn::{Mode, Network, RngSpec, Sequential};
use crate::ops::data::{gather, record, Gather};
use crate::ops::loss::{bce_logits, hinge_generator, hinge_logits, BceOut};
use crate::ops::stabilise::{self, Draws, InstanceNoise, Replay};
use crate::ops::{rng, Clock};
use crate::tape::{ParamGrads, Tape};
use crate::{Dataset, Error, Gpu, Result, Tensor};

/// RNG streams: every random use in an iteration draws from its own stream. Dropout masks
/// use stream·64 + layer of their tape's stream, so the direct streams stay below 16·64.
const STREAM_Z: u32 = 1;
const STREAM_LABELS: u32 = 2;
const STREAM_NOISE_REAL: u32 = 3;
const STREAM_NOISE_FAKE: u32 = 4;
const STREAM_NOISE_G: u32 = 5;
const STREAM_REPLAY: u32 = 6;
const STREAM_G: u32 = 16;
const STREAM_D: u32 = 1024;

/// The checkpoint name of the replay buffer.
const REPLAY_TENSOR: &str = "replay";

/// The tensors of an iteration's last D step and of its G step, as the recorded kernels bind
/// them: what D was shown and against which targets. After a step they hold that step's
/// values (read them with [`Tensor::read`]); for inspection and tests.
#[derive(Clone)]
pub struct StepTensors {
    /// The gathered real batch.
    pub real: Tensor,
    /// G's fresh samples.
    pub fakes: Tensor,
    /// What D read as the real batch: `real` plus instance noise.
    pub d_real_input: Tensor,
    /// What D read as the fake batch: `fakes` with replayed samples, plus instance noise.
    pub d_fake_input: Tensor,
    /// D's targets for the real batch (`real_label`, flipped ones 0).
    pub real_targets: Tensor,
    /// D's targets for the fake batch (0, flipped ones `real_label`).
    pub fake_targets: Tensor,
    /// What D read in the G step: `fakes` plus instance noise.
    pub g_step_input: Tensor,
}

/// `x` plus annealed instance noise, into a new tensor.
fn with_noise(
    gpu: &Gpu,
    noise: InstanceNoise,
    draws: Draws,
    state: &Tensor,
    x: &Tensor,
    kernels: &mut Vec<Kernel>,
) -> Result<Tensor> {
    let y = Tensor::zeros(gpu, x.shape(), "D input with instance noise")?;
    kernels.push(stabilise::instance_noise(gpu, noise, draws, state, x, &y)?);
    Ok(y)
}

/// Trains a GAN; see the crate documentation for an example.
pub struct Trainer {
    gpu: Gpu,
    config: TrainerConfig,
    g: Network,
    d: Network,
    kernels: Vec<Kernel>,
    state: Tensor,
    history: Tensor,
    readback: Readback,
    steps: u64,
    sampler: Tape,
    quality: Vec<QualityPoint>,
    /// The moving average of G's weights.
    ema: Option<Ema>,
    replay: Option<Tensor>,
    step_tensors: StepTensors,
    /// Kept alive for the kernels that bind them.
    _tapes: Vec<Tape>,
}

impl Trainer {
    /// Builds both networks and records a whole training iteration. Nothing is created after
    /// this returns.
    pub fn new(
        gpu: &Gpu,
        g: Sequential,
        d: Sequential,
        data: &Dataset,
        config: TrainerConfig,
    ) -> Result<Trainer> {
        config.validate()?;
        let g_out: usize = g.output_shape()?.iter().product();
        let d_in: usize = d.input_shape().iter().product();
        let sample: usize = data.shape().iter().product();
        if g_out != d_in || sample != d_in {
            return Err(Error::shape(
                "trainer",
                format!(
                    "G makes samples of {:?}, D reads {:?} and the data holds {:?}; all three must have the same size",
                    g.output_shape()?,
                    d.input_shape(),
                    data.shape()
                ),
            ));
        }
        if d.output_shape()?.iter().product::<usize>() != 1 {
            return Err(Error::shape(
                "trainer",
                "D must end in a single logit per sample",
            ));
        }
        let seed = config.seed;
        let b = config.batch;
        let k = config.d_steps;
        let g_sample_shape = g.output_shape()?;
        let g_net = Network::new(gpu, "G", g, seed ^ 0x6_0000)?;
        let d_net = Network::new(gpu, "D", d, seed ^ 0xD_0000)?;
        let state = Tensor::zeros(gpu, &[4], "step counter")?;
        let metrics = Tensor::zeros(gpu, &[SLOTS], "metrics")?;
        let rows = config.readback_every;
        let history = Tensor::zeros(gpu, &[rows * (SLOTS + 1)], "metrics history")?;
        let ones = Tensor::from_slice(gpu, &vec![1.0; b], &[b, 1], "real targets")?;
        let zeros = Tensor::zeros(gpu, &[b, 1], "fake targets")?;
        // D's targets: fixed unless flipped each step; G's stay 1 (one-sided smoothing).
        let flip = config.label_flip > 0.0;
        let (real_targets, fake_targets) = if flip {
            (
                Tensor::zeros(gpu, &[b, 1], "real targets, flipped")?,
                Tensor::zeros(gpu, &[b, 1], "fake targets, flipped")?,
            )
        } else if config.real_label != 1.0 {
            let smoothed = vec![config.real_label; b];
            (
                Tensor::from_slice(gpu, &smoothed, &[b, 1], "real targets, smoothed")?,
                zeros.clone(),
            )
        } else {
            (ones.clone(), zeros.clone())
        };
        let noise = (config.instance_noise > 0.0).then_some(InstanceNoise {
            sigma: config.instance_noise,
            anneal_steps: config.instance_noise_steps,
        });
        let replay = if config.replay_fraction > 0.0 {
            let mut shape = vec![config.replay_capacity];
            shape.extend(&g_sample_shape);
            Some(Tensor::zeros(gpu, &shape, "replay buffer")?)
        } else {
            None
        };
        let d_loss =
            |logits: &Tensor, targets: &Tensor, grad: &Tensor, out: BceOut| match config.loss {
                GanLoss::Bce => bce_logits(gpu, logits, targets, grad, &metrics, out),
                GanLoss::Hinge => hinge_logits(gpu, logits, targets, grad, &metrics, out),
            };
        let nz = g_net.model().input_shape().to_vec();
        let mut z_shape = vec![b];
        z_shape.extend(&nz);
        let mut real_shape = vec![b];
        real_shape.extend(data.shape());

        let mut kernels = Vec::new();
        let mut tapes = Vec::new();
        let mean = BceOut {
            loss_slot: readback::D_LOSS,
            prob_slot: readback::D_REAL,
            accumulate: false,
            grad_scale: 1.0 / b as f32,
            sign: 1.0,
        };
        // k discriminator steps, each on a fresh real batch and fresh z.
        let mut last_g = None;
        let mut last_d = None;
        for j in 0..k {
            let clock = Clock {
                mul: k as u32,
                add: j as u32,
            };
            let z = Tensor::zeros(gpu, &z_shape, "z")?;
            kernels.push(rng::fill(
                gpu,
                config.noise.distribution(),
                seed,
                STREAM_Z,
                clock,
                &state,
                &z,
            )?);
            let g_tape = g_net.tape(
                gpu,
                &z,
                Mode::Train,
                RngSpec {
                    seed,
                    stream: STREAM_G + j as u32,
                    clock,
                },
                &state,
            )?;
            kernels.extend_from_slice(g_tape.forward());
            let real = Tensor::zeros(gpu, &real_shape, "real batch")?;
            let g = Gather {
                count: data.count,
                size: sample,
                batch: b,
                seed,
                scale: data.scale,
                shift: data.shift,
                clock,
                resize: data
                    .stored
                    .map(|(h, w)| (h, w, data.shape()[1], data.shape()[2])),
            };
            kernels.push(gather(gpu, g, &state, &data.pixels, &real)?);
            // Stabilisation: every value below comes from the step counter and Philox.
            let draws = |stream: u32| Draws {
                seed,
                stream,
                clock,
            };
            if flip {
                kernels.push(stabilise::flip_targets(
                    gpu,
                    config.label_flip,
                    config.real_label,
                    draws(STREAM_LABELS),
                    &state,
                    &real_targets,
                    &fake_targets,
                )?);
            }
            let mut fake_in = g_tape.output().clone();
            if let Some(ring) = &replay {
                let r = Replay {
                    size: sample,
                    batch: b,
                    capacity: config.replay_capacity,
                    replayed: config.replayed(),
                    draws: draws(STREAM_REPLAY),
                };
                let mixed = Tensor::zeros(gpu, fake_in.shape(), "fakes with replayed samples")?;
                // Mix before storing, so a batch never replays its own samples.
                kernels.push(stabilise::replay_mix(
                    gpu,
                    r,
                    &state,
                    g_tape.output(),
                    ring,
                    &mixed,
                )?);
                kernels.push(stabilise::replay_store(
                    gpu,
                    r,
                    &state,
                    g_tape.output(),
                    ring,
                )?);
                fake_in = mixed;
            }
            let mut real_in = real.clone();
            if let Some(n) = noise {
                let d = draws(STREAM_NOISE_REAL);
                real_in = with_noise(gpu, n, d, &state, &real, &mut kernels)?;
                let d = draws(STREAM_NOISE_FAKE);
                fake_in = with_noise(gpu, n, d, &state, &fake_in, &mut kernels)?;
            }
            let d_rng = |s: u32| RngSpec {
                seed,
                stream: STREAM_D + 4 * j as u32 + s,
                clock,
            };
            let d_real = d_net.tape(gpu, &real_in, Mode::Train, d_rng(0), &state)?;
            let d_fake = d_net.tape(gpu, &fake_in, Mode::Train, d_rng(1), &state)?;
            let grad_real = Tensor::zeros(gpu, &[b, 1], "dD(x)")?;
            let grad_fake = Tensor::zeros(gpu, &[b, 1], "dD(G(z))")?;
            kernels.extend_from_slice(d_real.forward());
            kernels.extend_from_slice(d_fake.forward());
            kernels.push(d_loss(d_real.output(), &real_targets, &grad_real, mean)?);
            let fake_out = BceOut {
                accumulate: true,
                prob_slot: readback::D_FAKE,
                ..mean
            };
            kernels.push(d_loss(
                d_fake.output(),
                &fake_targets,
                &grad_fake,
                fake_out,
            )?);
            kernels.extend(d_real.backward(gpu, &grad_real, ParamGrads::Write, None)?);
            kernels.extend(d_fake.backward(gpu, &grad_fake, ParamGrads::Accumulate, None)?);
            let p = d_net.params();
            kernels.push(config.d_optimizer.step_params(gpu, clock, &state, p)?);
            kernels.extend(d_net.constraints(gpu)?);
            tapes.extend([d_real, d_fake]);
            last_d = Some((real, real_in, fake_in));
            if j + 1 == k {
                last_g = Some(g_tape);
            } else {
                tapes.push(g_tape);
            }
        }
        // The generator step, through the updated D, on the last D step's fakes.
        let g_tape = last_g.expect("k >= 1");
        let (real, real_in, fake_in) = last_d.expect("k >= 1");
        let clock = Clock {
            mul: k as u32,
            add: k as u32 - 1,
        };
        // G learns from its own fresh fakes: D's noisy input unless that held replayed ones.
        let g_in = match (&replay, noise) {
            (None, _) => fake_in.clone(),
            (Some(_), None) => g_tape.output().clone(),
            (Some(_), Some(n)) => {
                let d = Draws {
                    seed,
                    stream: STREAM_NOISE_G,
                    clock,
                };
                with_noise(gpu, n, d, &state, g_tape.output(), &mut kernels)?
            }
        };
        let d_g = d_net.tape(
            gpu,
            &g_in,
            Mode::Train,
            RngSpec {
                seed,
                stream: STREAM_D - 1,
                clock,
            },
            &state,
        )?;
        kernels.extend_from_slice(d_g.forward());
        let grad_logit = Tensor::zeros(gpu, &[b, 1], "dD(G(z)) for G")?;
        let (targets, sign) = match config.g_loss {
            GLoss::NonSaturating => (&ones, 1.0),
            GLoss::Minimax => (&zeros, -1.0),
        };
        let g_out = BceOut {
            loss_slot: readback::G_LOSS,
            prob_slot: readback::D_FAKE_G,
            accumulate: false,
            grad_scale: 1.0 / b as f32,
            sign,
        };
        kernels.push(match config.loss {
            GanLoss::Bce => bce_logits(gpu, d_g.output(), targets, &grad_logit, &metrics, g_out)?,
            GanLoss::Hinge => hinge_generator(
                gpu,
                d_g.output(),
                &grad_logit,
                &metrics,
                BceOut { sign: 1.0, ..g_out },
            )?,
        });
        let grad_fake = Tensor::zeros(gpu, g_tape.output().shape(), "dG(z)")?;
        kernels.extend(d_g.backward(gpu, &grad_logit, ParamGrads::Skip, Some(&grad_fake))?);
        kernels.extend(g_tape.backward(gpu, &grad_fake, ParamGrads::Write, None)?);
        let p = g_net.params();
        kernels.push(
            config
                .g_optimizer
                .step_params(gpu, Clock::ITERATION, &state, p)?,
        );
        kernels.extend(g_net.constraints(gpu)?);
        let ema = config
            .g_ema
            .map(|decay| Ema::new(gpu, &g_net, decay, &mut kernels))
            .transpose()?;
        kernels.push(record(gpu, &state, &metrics, &history)?);
        let step_tensors = StepTensors {
            real,
            fakes: g_tape.output().clone(),
            d_real_input: real_in,
            d_fake_input: fake_in,
            real_targets,
            fake_targets,
            g_step_input: g_in,
        };
        tapes.extend([g_tape, d_g]);

        // A fixed z for watching progress, drawn once on the CPU from the same generator.
        let n = config.sample_count;
        let fixed = crate::gan::noise(config.noise, n * nz.iter().product::<usize>(), seed);
        let mut fixed_shape = vec![n];
        fixed_shape.extend(&nz);
        let fixed_z = Tensor::from_slice(gpu, &fixed, &fixed_shape, "fixed z")?;
        let sampled = ema.as_ref().map_or(&g_net, Ema::network);
        let sampler = sampled.tape(
            gpu,
            &fixed_z,
            Mode::Generate,
            RngSpec {
                seed,
                stream: STREAM_SAMPLE,
                clock: Clock::ITERATION,
            },
            &state,
        )?;

        Ok(Trainer {
            gpu: gpu.clone(),
            readback: Readback::new(gpu, rows),
            config,
            g: g_net,
            d: d_net,
            kernels,
            state,
            history,
            steps: 0,
            sampler,
            quality: Vec::new(),
            ema,
            replay,
            step_tensors,
            _tapes: tapes,
        })
    }

    /// Runs one training iteration: one encoder, one submission. Every `readback_every`
    /// steps the logged metrics are copied out and collected asynchronously; a NaN or Inf in
    /// them is returned as [`Error::Diverged`] naming the step.
    pub fn step(&mut self) -> Result<()> {
        self.steps += 1;
        self.readback.submit_step(
            &self.gpu,
            "training step",
            &self.kernels,
            &self.history,
            &self.state,
            self.steps,
            self.config.readback_every as u64,
        )
    }

    /// Runs one training step with a timestamp around every dispatch and returns the GPU time
    /// per kernel entry point (summed over its dispatches), slowest first, in milliseconds.
    /// `None` when the device cannot time inside passes. Blocking: for benchmarks only.
    pub fn profile(&mut self) -> Result<Option<Vec<(&'static str, f64)>>> {
        if !self.gpu.can_profile() {
            return Ok(None);
        }
        let device = self.gpu.device();
        let count = self.kernels.len() as u32 + 1;
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolved = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile"),
            size: count as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.write_timestamp(&set, 0);
            for (i, k) in self.kernels.iter().enumerate() {
                k.encode(&mut pass);
                pass.write_timestamp(&set, i as u32 + 1);
            }
        }
        encoder.resolve_query_set(&set, 0..count, &resolved, 0);
        self.gpu.queue().submit([encoder.finish()]);
        self.steps += 1;
        let bytes = crate::tensor::read_bytes(&self.gpu, &resolved, 0, count as u64 * 8)?;
        let ticks: &[u64] = bytemuck::cast_slice(&bytes);
        let period = self.gpu.queue().get_timestamp_period() as f64;
        let mut by_label: Vec<(&'static str, f64)> = Vec::new();
        for (i, k) in self.kernels.iter().enumerate() {
            let ms = ticks[i + 1].saturating_sub(ticks[i]) as f64 * period / 1e6;
            match by_label.iter_mut().find(|(l, _)| *l == k.label()) {
                Some(e) => e.1 += ms,
                None => by_label.push((k.label(), ms)),
            }
        }
        by_label.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.flush()?;
        Ok(Some(by_label))
    }

    /// Waits for the GPU and collects the metrics of every step run so far.
    pub fn flush(&mut self) -> Result<()> {
        self.readback.flush(&self.gpu, &self.history, &self.state)
    }

    /// Saves G, D, both optimisers' state, the step counter and the metrics history
    /// (atomically), with the moving average of G's weights (as network [`EMA_NETWORK`],
    /// weights only) and the replay buffer when the configuration keeps them. Flushes first,
    /// so a diverged state is refused rather than saved.
    pub fn save(&mut self, path: &std::path::Path) -> Result<()> {
        self.flush()?;
        let weights: Vec<(&str, &Network)> = self
            .ema
            .iter()
            .map(|e| (EMA_NETWORK, e.network()))
            .collect();
        let tensors: Vec<(&str, &Tensor)> =
            self.replay.iter().map(|r| (REPLAY_TENSOR, r)).collect();
        crate::io::checkpoint::save_with(
            &self.gpu,
            path,
            &[("G", &self.g), ("D", &self.d)],
            Extras {
                weights: &weights,
                tensors: &tensors,
            },
            Some(&self.state),
            self.readback.collected.as_slice(),
            &self.quality,
        )
    }

    /// Continues from a checkpoint written by [`Trainer::save`] for the same models and
    /// configuration: parameters, moments and the step counter are restored, so the noise,
    /// the data order and Adam's bias correction pick up exactly where they were; the
    /// metrics history is restored too, so [`Trainer::history`] covers the whole run.
    ///
    /// The weight average is restored too, or restarted from G when the checkpoint has none;
    /// a replay buffer must be in the checkpoint (its fill level follows from the step).
    pub fn resume(&mut self, path: &std::path::Path) -> Result<()> {
        let ckpt = crate::io::checkpoint::Checkpoint::open(path)?;
        if self.replay.is_some() && !ckpt.has_tensor(REPLAY_TENSOR)? {
            return Err(Error::Data {
                path: path.to_path_buf(),
                message: "has no replay buffer (it was written without replay); resume it \
                          with replay_fraction 0, or start afresh"
                    .into(),
            });
        }
        ckpt.load_network(&self.gpu, "G", &self.g, true)?;
        ckpt.load_network(&self.gpu, "D", &self.d, true)?;
        if let Some(ema) = &self.ema {
            ema.restore(&self.gpu, &ckpt)?;
        }
        if let Some(ring) = &self.replay {
            ckpt.load_tensor(&self.gpu, REPLAY_TENSOR, ring)?;
        }
        let state = ckpt.state()?.ok_or_else(|| Error::Data {
            path: path.to_path_buf(),
            message: "has no step counter; it holds networks only and cannot resume training"
                .into(),
        })?;
        self.state.write(&self.gpu, bytemuck::cast_slice(&state))?;
        self.steps = state[0] as u64;
        let earlier = ckpt.history()?;
        self.readback.skip_to(self.steps, earlier);
        self.quality = ckpt.quality()?;
        self.quality.retain(|q| q.step <= self.steps);
        Ok(())
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The most recent metrics that have reached the CPU.
    pub fn metrics(&self) -> Option<&StepMetrics> {
        self.readback.collected.last()
    }

    /// Logs a sample-quality measurement, kept with the history (and in checkpoints).
    pub fn add_quality(&mut self, point: QualityPoint) {
        self.quality.push(point);
    }

    /// The sample-quality measurements logged so far, in order.
    pub fn quality(&self) -> &[QualityPoint] {
        &self.quality
    }

    /// Every step's metrics that have reached the CPU, in order.
    pub fn history(&self) -> &[StepMetrics] {
        &self.readback.collected
    }

    /// Generates from the fixed z (generate mode: batch statistics, nothing updated) and returns the samples, row-major
    /// `[sample_count, ...]`, with the moving average of G's weights when the configuration
    /// keeps one (`g_ema`), else with G. Blocks: for pictures, not for the training loop.
    pub fn samples(&self) -> Result<Vec<f32>> {
        self.gpu
            .run(&self.sampler.forward().iter().collect::<Vec<_>>())?;
        self.sampler.output().read(&self.gpu)
    }

    /// The generator's samples tensor on the GPU (valid after [`Trainer::samples`] or
    /// [`Trainer::generate`]), for binding in a host program's own passes.
    pub fn samples_tensor(&self) -> &Tensor {
        self.sampler.output()
    }

    /// Runs the generator (the weight average when kept) on the fixed z without reading back.
    pub fn generate(&self) -> Result<&Tensor> {
        self.gpu
            .run(&self.sampler.forward().iter().collect::<Vec<_>>())?;
        Ok(self.sampler.output())
    }

    /// The generator being trained.
    pub fn generator(&self) -> &Network {
        &self.g
    }

    /// The moving average of G's weights (`g_ema`), if kept: the same model with its own
    /// weights (batch-norm running statistics shared with G). It is what [`Trainer::samples`]
    /// draws from and what checkpoints hold as [`EMA_NETWORK`].
    pub fn ema_generator(&self) -> Option<&Network> {
        self.ema.as_ref().map(Ema::network)
    }

    /// The generator to sample and evaluate: the weight average when kept, else G.
    pub fn sampling_generator(&self) -> &Network {
        self.ema_generator().unwrap_or(&self.g)
    }

    /// The replay buffer (`[replay_capacity, ...sample]`), if kept.
    pub fn replay_buffer(&self) -> Option<&Tensor> {
        self.replay.as_ref()
    }

    /// What D was shown in the last step and against which targets.
    pub fn step_tensors(&self) -> &StepTensors {
        &self.step_tensors
    }

    /// The discriminator.
    pub fn discriminator(&self) -> &Network {
        &self.d
    }

    /// The configuration.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// Number of dispatches in one iteration.
    pub fn dispatches(&self) -> usize {
        self.kernels.len()
    }
}
