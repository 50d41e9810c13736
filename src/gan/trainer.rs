//! The trainer: G, D, their optimisers and losses, recorded once into the kernels of one
//! iteration and replayed with one command encoder and one submission per step.

use std::path::Path;

use crate::gan::iteration::Iteration;
use crate::gan::readback::StepMetrics;
use crate::gan::runner::GanRunner;
use crate::gan::TrainerConfig;
use crate::gpu::Kernel;
use crate::io::checkpoint::Checkpoint;
use crate::io::metrics_log::QualityPoint;
use crate::nn::{Network, Sequential};
use crate::ops::data::{gather, Gather};
use crate::ops::stabilise::{self, Draws, InstanceNoise, Replay};
use crate::{Dataset, Error, Gpu, Result, Tensor};

/// RNG streams of the stabilisation tricks (see [`crate::gan::iteration`] for the others).
const STREAM_LABELS: u32 = 2;
const STREAM_NOISE_REAL: u32 = 3;
const STREAM_NOISE_FAKE: u32 = 4;
const STREAM_NOISE_G: u32 = 5;
const STREAM_REPLAY: u32 = 6;

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
    config: TrainerConfig,
    run: GanRunner,
    replay: Option<Tensor>,
    step_tensors: StepTensors,
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
        let mut it = Iteration::new(gpu, (g, d), seed, b, k, config.loss)?;
        let state = it.state.clone();
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
                it.zeros.clone(),
            )
        } else {
            (it.ones.clone(), it.zeros.clone())
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
        let nz = it.g.model().input_shape().to_vec();
        let mut z_shape = vec![b];
        z_shape.extend(&nz);
        let mut real_shape = vec![b];
        real_shape.extend(data.shape());

        // k discriminator steps, each on a fresh real batch and fresh z.
        let mut last = None;
        for j in 0..k {
            let clock = it.clock(j);
            let z = it.z(config.noise, &z_shape, j)?;
            let g_tape = it.g_forward(&z, j)?;
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
            it.kernels
                .push(gather(gpu, g, &state, &data.pixels, &real)?);
            // Stabilisation: every value below comes from the step counter and Philox.
            let draws = |stream: u32| Draws {
                seed,
                stream,
                clock,
            };
            if flip {
                it.kernels.push(stabilise::flip_targets(
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
                let fakes = g_tape.output();
                it.kernels
                    .push(stabilise::replay_mix(gpu, r, &state, fakes, ring, &mixed)?);
                it.kernels
                    .push(stabilise::replay_store(gpu, r, &state, fakes, ring)?);
                fake_in = mixed;
            }
            let mut real_in = real.clone();
            if let Some(n) = noise {
                let d = draws(STREAM_NOISE_REAL);
                real_in = with_noise(gpu, n, d, &state, &real, &mut it.kernels)?;
                let d = draws(STREAM_NOISE_FAKE);
                fake_in = with_noise(gpu, n, d, &state, &fake_in, &mut it.kernels)?;
            }
            it.d_update(
                j,
                (&real_in, &real_targets),
                (&fake_in, &fake_targets),
                &config.d_optimizer,
            )?;
            if let Some((old, ..)) = last.replace((g_tape, real, real_in, fake_in)) {
                it.keep(old);
            }
        }
        // The generator step, through the updated D, on the last D step's fakes.
        let (g_tape, real, real_in, fake_in) = last.expect("k >= 1");
        // G learns from its own fresh fakes: D's noisy input unless that held replayed ones.
        let g_in = match (&replay, noise) {
            (None, _) => fake_in.clone(),
            (Some(_), None) => g_tape.output().clone(),
            (Some(_), Some(n)) => {
                let d = Draws {
                    seed,
                    stream: STREAM_NOISE_G,
                    clock: it.g_clock(),
                };
                with_noise(gpu, n, d, &state, g_tape.output(), &mut it.kernels)?
            }
        };
        let grad_fake = it.g_loss_gradient(&g_in, config.g_loss)?;
        let step_tensors = StepTensors {
            real,
            fakes: g_tape.output().clone(),
            d_real_input: real_in,
            d_fake_input: fake_in,
            real_targets,
            fake_targets,
            g_step_input: g_in,
        };
        let ema = it.g_update(g_tape, &grad_fake, &config.g_optimizer, config.g_ema)?;

        // A fixed z for watching progress, drawn once on the CPU from the same generator.
        let n = config.sample_count;
        let fixed = crate::gan::noise(config.noise, n * nz.iter().product::<usize>(), seed);
        let mut fixed_shape = vec![n];
        fixed_shape.extend(&nz);
        let fixed_z = Tensor::from_slice(gpu, &fixed, &fixed_shape, "fixed z")?;
        let run = it.finish(ema, &fixed_z, config.readback_every, "training step")?;
        Ok(Trainer {
            config,
            run,
            replay,
            step_tensors,
        })
    }

    /// Runs one training iteration: one encoder, one submission. Every `readback_every`
    /// steps the logged metrics are copied out and collected asynchronously; a NaN or Inf in
    /// them is returned as [`Error::Diverged`] naming the step.
    pub fn step(&mut self) -> Result<()> {
        self.run.step()
    }

    /// Runs one training step with a timestamp around every dispatch and returns the GPU time
    /// per kernel entry point (summed over its dispatches), slowest first, in milliseconds.
    /// `None` when the device cannot time inside passes. Blocking: for benchmarks only.
    pub fn profile(&mut self) -> Result<Option<Vec<(&'static str, f64)>>> {
        let run = &mut self.run;
        if !run.gpu.can_profile() {
            return Ok(None);
        }
        let device = run.gpu.device();
        let count = run.kernels.len() as u32 + 1;
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
            for (i, k) in run.kernels.iter().enumerate() {
                k.encode(&mut pass);
                pass.write_timestamp(&set, i as u32 + 1);
            }
        }
        encoder.resolve_query_set(&set, 0..count, &resolved, 0);
        run.gpu.queue().submit([encoder.finish()]);
        run.steps += 1;
        let bytes = crate::tensor::read_bytes(&run.gpu, &resolved, 0, count as u64 * 8)?;
        let ticks: &[u64] = bytemuck::cast_slice(&bytes);
        let period = run.gpu.queue().get_timestamp_period() as f64;
        let mut by_label: Vec<(&'static str, f64)> = Vec::new();
        for (i, k) in run.kernels.iter().enumerate() {
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
        self.run.flush()
    }

    /// Saves G, D, both optimisers' state, the step counter and the metrics history
    /// (atomically), with the moving average of G's weights (as network [`EMA_NETWORK`](crate::gan::EMA_NETWORK),
    /// weights only) and the replay buffer when the configuration keeps them. Flushes first,
    /// so a diverged state is refused rather than saved.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        let tensors: Vec<(&str, &Tensor)> =
            self.replay.iter().map(|r| (REPLAY_TENSOR, r)).collect();
        self.run.save(path, &tensors)
    }

    /// Continues from a checkpoint written by [`Trainer::save`] for the same models and
    /// configuration: parameters, moments and the step counter are restored, so the noise,
    /// the data order and Adam's bias correction pick up exactly where they were; the
    /// metrics history is restored too, so [`Trainer::history`] covers the whole run.
    ///
    /// The weight average is restored too, or restarted from G when the checkpoint has none;
    /// a replay buffer must be in the checkpoint (its fill level follows from the step).
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let ckpt = Checkpoint::open(path)?;
        if self.replay.is_some() && !ckpt.has_tensor(REPLAY_TENSOR)? {
            return Err(Error::Data {
                path: path.to_path_buf(),
                message: "has no replay buffer (it was written without replay); resume it \
                          with replay_fraction 0, or start afresh"
                    .into(),
            });
        }
        let tensors: Vec<(&str, &Tensor)> =
            self.replay.iter().map(|r| (REPLAY_TENSOR, r)).collect();
        self.run.resume(path, &ckpt, &tensors)
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.run.steps
    }

    /// The most recent metrics that have reached the CPU.
    pub fn metrics(&self) -> Option<&StepMetrics> {
        self.run.metrics()
    }

    /// Logs a sample-quality measurement, kept with the history (and in checkpoints).
    pub fn add_quality(&mut self, point: QualityPoint) {
        self.run.quality.push(point);
    }

    /// The sample-quality measurements logged so far, in order.
    pub fn quality(&self) -> &[QualityPoint] {
        &self.run.quality
    }

    /// Every step's metrics that have reached the CPU, in order.
    pub fn history(&self) -> &[StepMetrics] {
        self.run.history()
    }

    /// Generates from the fixed z (generate mode: batch statistics, nothing updated) and
    /// returns the samples, row-major `[sample_count, ...]`, with the moving average of G's
    /// weights when the configuration keeps one (`g_ema`), else with G. Blocks: for
    /// pictures, not for the training loop.
    pub fn samples(&self) -> Result<Vec<f32>> {
        self.run.samples()
    }

    /// The generator's samples tensor on the GPU (valid after [`Trainer::samples`] or
    /// [`Trainer::generate`]), for binding in a host program's own passes.
    pub fn samples_tensor(&self) -> &Tensor {
        self.run.sampler.output()
    }

    /// Runs the generator (the weight average when kept) on the fixed z without reading back.
    pub fn generate(&self) -> Result<&Tensor> {
        self.run.generate()
    }

    /// The generator being trained.
    pub fn generator(&self) -> &Network {
        &self.run.g
    }

    /// The moving average of G's weights (`g_ema`), if kept: the same model with its own
    /// weights (batch-norm running statistics shared with G). It is what [`Trainer::samples`]
    /// draws from and what checkpoints hold as [`EMA_NETWORK`](crate::gan::EMA_NETWORK).
    pub fn ema_generator(&self) -> Option<&Network> {
        self.run.ema_generator()
    }

    /// The generator to sample and evaluate: the weight average when kept, else G.
    pub fn sampling_generator(&self) -> &Network {
        self.run.sampling_generator()
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
        &self.run.d
    }

    /// The configuration.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// Number of dispatches in one iteration.
    pub fn dispatches(&self) -> usize {
        self.run.kernels.len()
    }
}
