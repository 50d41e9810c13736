//! The trainer: G, D, their optimisers and losses, recorded once into the kernels of one
//! iteration and replayed with one command encoder and one submission per step.

use std::ops::{Deref, DerefMut};

use crate::gan::iteration::Iteration;
use crate::gan::run::GanRun;
use crate::gan::TrainerConfig;
use crate::nn::Graph;
use crate::ops::data::gather;
use crate::step::Recorder;
use crate::{Dataset, Error, Gpu, Result, Tensor};

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
    /// What D read as the real batch: `real` (at a growing network's stage resolution)
    /// plus instance noise.
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

/// Trains a GAN; see the crate documentation for an example.
pub struct Trainer {
    config: TrainerConfig,
    run: GanRun,
    step_tensors: StepTensors,
}

/// What D reads of the gathered real batch, and from which iteration the optimisers count
/// their updates: the plain trainer shows the batch as gathered and counts from 0; a growing
/// network shows it at the stage's resolution and counts from the stage's start.
pub(crate) struct Staging<'a> {
    /// The per-sample shape of what D reads.
    pub(crate) real_shape: Vec<usize>,
    /// Records the kernels that turn a gathered batch into what D reads.
    pub(crate) view: &'a dyn Fn(&mut Recorder, &Tensor) -> Result<Tensor>,
    /// The iteration the optimisers count from.
    pub(crate) optimisers_from: u32,
}

impl Trainer {
    /// Builds both networks (a [`Sequential`](crate::Sequential) or a
    /// [`Graph`](crate::nn::Graph) each) and records a whole training iteration. Nothing is
    /// created after this returns.
    pub fn new(
        gpu: &Gpu,
        g: impl Into<Graph>,
        d: impl Into<Graph>,
        data: &Dataset,
        config: TrainerConfig,
    ) -> Result<Trainer> {
        let as_gathered = Staging {
            real_shape: data.shape().to_vec(),
            view: &|_, real| Ok(real.clone()),
            optimisers_from: 0,
        };
        Trainer::staged(gpu, g.into(), d.into(), data, config, &as_gathered)
    }

    /// [`Trainer::new`] with D reading the real batch through `staging`.
    pub(crate) fn staged(
        gpu: &Gpu,
        g: Graph,
        d: Graph,
        data: &Dataset,
        config: TrainerConfig,
        staging: &Staging,
    ) -> Result<Trainer> {
        config.validate()?;
        let g_out: usize = g.output_shape()?.iter().product();
        let d_in: usize = d.input_shape().iter().product();
        let sample: usize = staging.real_shape.iter().product();
        if g_out != d_in || sample != d_in {
            return Err(Error::shape(
                "trainer",
                format!(
                    "G makes samples of {:?}, D reads {:?} and the data holds {:?}; all three must have the same size",
                    g.output_shape()?,
                    d.input_shape(),
                    staging.real_shape
                ),
            ));
        }
        if d.output_shape()?.iter().product::<usize>() != 1 {
            return Err(Error::shape(
                "trainer",
                "D must end in a single logit per sample",
            ));
        }
        let b = config.batch;
        let g_sample_shape = g.output_shape()?;
        let replayed = [(REPLAY_TENSOR, g_sample_shape.as_slice())];
        let mut it = Iteration::new(gpu, (g, d), &config, &replayed)?;
        it.rec.count_updates_from(staging.optimisers_from);
        let nz = it.g.model().input_shape().to_vec();
        let mut z_shape = vec![b];
        z_shape.extend(&nz);
        let mut gathered_shape = vec![b];
        gathered_shape.extend(data.shape());

        // k discriminator steps, each on a fresh real batch and fresh z.
        let mut last = None;
        for j in 0..config.d_steps {
            let clock = it.clock(j);
            let z = it.z(&z_shape, j)?;
            let g_tape = it.g_forward(&z, j)?;
            let real = Tensor::zeros(gpu, &gathered_shape, "real batch")?;
            let gth = data.gather(b, config.seed, it.rec.shard().data_clock(clock));
            let rec = &mut it.rec;
            rec.push(gather(gpu, gth, &rec.state, &data.pixels, &real)?);
            let shown = (staging.view)(rec, &real)?;
            let (real_in, fakes) =
                it.stabilisers
                    .d_inputs(&mut it.rec, clock, &shown, &[g_tape.output()])?;
            let fake_in = fakes.into_iter().next().expect("one part");
            it.d_update(j, &real_in, &fake_in)?;
            if let Some((old, ..)) = last.replace((g_tape, real, real_in, fake_in)) {
                it.rec.keep(old);
            }
        }
        // The generator step, through the updated D, on the last D step's fakes.
        let (g_tape, real, real_in, fake_in) = last.expect("k >= 1");
        let g_clock = it.g_clock();
        let g_in = it
            .stabilisers
            .g_input(&mut it.rec, g_clock, g_tape.output(), &fake_in)?;
        let grad_fake = it.g_loss_gradient(&g_in)?;
        let step_tensors = StepTensors {
            real,
            fakes: g_tape.output().clone(),
            d_real_input: real_in,
            d_fake_input: fake_in,
            real_targets: it.stabilisers.real_targets.clone(),
            fake_targets: it.stabilisers.fake_targets.clone(),
            g_step_input: g_in,
        };
        let ema = it.g_update(g_tape, &grad_fake)?;

        // A fixed z for watching progress, drawn once on the CPU from the same generator.
        let n = config.sample_count;
        let fixed = crate::gan::noise(config.noise, n * nz.iter().product::<usize>(), config.seed);
        let mut fixed_shape = vec![n];
        fixed_shape.extend(&nz);
        let fixed_z = Tensor::from_slice(gpu, &fixed, &fixed_shape, "fixed z")?;
        let run = it.finish(ema, &fixed_z, "training step")?;
        Ok(Trainer {
            config,
            run,
            step_tensors,
        })
    }

    /// The replay buffer (`[replay_capacity, ...sample]`), if kept.
    pub fn replay_buffer(&self) -> Option<&Tensor> {
        self.run.tensors.first().map(|(_, t)| t)
    }

    /// What D was shown in the last step and against which targets.
    pub fn step_tensors(&self) -> &StepTensors {
        &self.step_tensors
    }

    /// The configuration.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }
}

impl Deref for Trainer {
    type Target = GanRun;

    fn deref(&self) -> &GanRun {
        &self.run
    }
}

impl DerefMut for Trainer {
    fn deref_mut(&mut self) -> &mut GanRun {
        &mut self.run
    }
}
