//! Conditional GANs (Mirza & Osindero 2014): G reads `[z | one-hot label]`; D reads the image
//! with one constant map per class stacked onto its channels (a conv D), or the one-hot row
//! appended to a flat sample (an MLP D). Real batches bring their labels from the data set
//! (gathered with the images, so each label follows its image through the shuffle); fake
//! labels are drawn uniformly on the GPU each step. As with [`Trainer`](crate::Trainer), one
//! iteration is recorded once and every step replays it with one submission.
//!
//! ```no_run
//! use counterfeit::gan::conditional::{self, ConditionalConfig, ConditionalTrainer};
//! use counterfeit::{Dataset, Gpu};
//! # fn main() -> counterfeit::Result<()> {
//! let gpu = Gpu::new()?;
//! let data = Dataset::mnist(&gpu, None, (-1.0, 1.0))?;   // digits with their labels
//! let mut gan = ConditionalTrainer::new(
//!     &gpu,
//!     conditional::dcgan28_generator(10),
//!     conditional::dcgan28_discriminator(10),
//!     &data,
//!     ConditionalConfig::dcgan(10),
//! )?;
//! for _ in 0..1000 {
//!     gan.step()?;
//! }
//! let rows = gan.samples()?; // one row of fixed-z samples per class
//! # Ok(()) }
//! ```

use std::path::Path;

use crate::gan::ema::check_decay;
use crate::gan::iteration::Iteration;
use crate::gan::readback::StepMetrics;
use crate::gan::runner::GanRunner;
use crate::gan::{noise, GLoss, GanLoss, Noise};
use crate::gpu::Kernel;
use crate::io::checkpoint::Checkpoint;
use crate::io::metrics_log::QualityPoint;
use crate::nn::{Network, Sequential};
use crate::ops::concat::{concat_channels, split_channels};
use crate::ops::data::{gather, gather_labels, Gather};
use crate::ops::labels;
use crate::{Dataset, Error, Gpu, Optimizer, Result, Tensor};

mod networks;
use networks::d_layout;
pub use networks::{dcgan28_discriminator, dcgan28_generator, generate, generator_input};

/// The Philox stream of the fake labels (one draw per sample and D step, on the step clock).
pub const LABEL_STREAM: u32 = 2;

/// A conditional trainer's settings: those of [`TrainerConfig`](crate::TrainerConfig) that it
/// supports, and the number of classes.
#[derive(Clone, Debug)]
pub struct ConditionalConfig {
    /// Number of classes; the data set's labels must all be below it.
    pub classes: usize,
    /// Samples per batch (real and fake alike).
    pub batch: usize,
    /// Seeds the parameters, the noise, the fake labels, dropout masks and the data order.
    pub seed: u64,
    pub noise: Noise,
    pub g_optimizer: Optimizer,
    pub d_optimizer: Optimizer,
    /// Discriminator steps per generator step.
    pub d_steps: usize,
    pub g_loss: GLoss,
    /// Metrics reach the CPU every this many steps.
    pub readback_every: usize,
    /// Fixed latent vectors, each drawn for every class by [`ConditionalTrainer::samples`].
    pub sample_count: usize,
    /// Decay of a moving average of G's weights (e.g. 0.999), as
    /// [`TrainerConfig::g_ema`](crate::TrainerConfig::g_ema): samples and checkpoints (as
    /// `G_ema`) then use it. `None` keeps none.
    pub g_ema: Option<f32>,
}

impl ConditionalConfig {
    /// The DCGAN recipe (batch 64, z ~ N(0, 1), Adam 2e-4 (0.5, 0.999) for both, k = 1,
    /// non-saturating G loss) with `classes` classes and ten fixed latent vectors per class
    /// (a 10×10 grid for digits).
    pub fn dcgan(classes: usize) -> Self {
        ConditionalConfig {
            classes,
            batch: 64,
            seed: 0,
            noise: Noise::Normal,
            g_optimizer: Optimizer::dcgan_adam(),
            d_optimizer: Optimizer::dcgan_adam(),
            d_steps: 1,
            g_loss: GLoss::NonSaturating,
            readback_every: 10,
            sample_count: 10,
            g_ema: None,
        }
    }

    fn validate(&self) -> Result<()> {
        let at_least = |name: &str, v: usize, min: usize| {
            if v < min {
                return Err(Error::Config(format!(
                    "{name} must be at least {min}, got {v}"
                )));
            }
            Ok(())
        };
        at_least("classes (a condition needs two)", self.classes, 2)?;
        at_least("batch", self.batch, 1)?;
        at_least("d_steps (k)", self.d_steps, 1)?;
        at_least("readback_every", self.readback_every, 1)?;
        at_least("sample_count", self.sample_count, 1)?;
        if let Some(decay) = self.g_ema {
            check_decay(decay)?;
        }
        if let Noise::Uniform { low, high } = self.noise {
            if low.is_nan() || high.is_nan() || low >= high {
                return Err(Error::Config(format!(
                    "uniform noise needs low < high, got {low}..{high}"
                )));
            }
        }
        Ok(())
    }
}

/// What one iteration reads and passes back, for inspection after a step (the last D step's
/// batches when k > 1). Label tensors hold u32.
pub struct StepTensors<'a> {
    /// G's input `[batch, nz + classes]`: z, then the fake labels one-hot.
    pub g_input: &'a Tensor,
    /// The fake labels `[batch]`.
    pub fake_labels: &'a Tensor,
    /// D's fake input: G's samples, then the fake labels' maps (or row).
    pub fake_input: &'a Tensor,
    /// The real labels `[batch]`, gathered with the real batch.
    pub real_labels: &'a Tensor,
    /// D's real input: the real batch, then its labels' maps (or row).
    pub real_input: &'a Tensor,
    /// The G step's loss gradient at D's whole fake input, label channels included.
    pub d_input_grad: &'a Tensor,
    /// Its image channels only: all that G's backward receives.
    pub g_output_grad: &'a Tensor,
}

struct Views {
    g_input: Tensor,
    fake_labels: Tensor,
    fake_input: Tensor,
    real_labels: Tensor,
    real_input: Tensor,
    d_input_grad: Tensor,
    g_output_grad: Tensor,
}

/// Trains a conditional GAN; see the module documentation.
pub struct ConditionalTrainer {
    config: ConditionalConfig,
    run: GanRunner,
    nz: usize,
    views: Views,
}

impl ConditionalTrainer {
    /// Checks that G, D, the data and its labels fit together, builds both networks and
    /// records a whole training iteration. Nothing is created after this returns.
    ///
    /// G must read `[nz + classes]`; D must read the data's sample with `classes` label
    /// channels after its channels (`[c + classes, h, w]` for `[c, h, w]` samples) or with
    /// `classes` values after the flat sample; the data set must have labels below `classes`.
    pub fn new(
        gpu: &Gpu,
        g: Sequential,
        d: Sequential,
        data: &Dataset,
        config: ConditionalConfig,
    ) -> Result<ConditionalTrainer> {
        config.validate()?;
        let classes = config.classes;
        let all_labels = data.label_tensor().ok_or_else(|| {
            Error::Config(
                "conditional training needs a data set with labels (e.g. Dataset::from_digits \
                 of labelled digits)"
                    .into(),
            )
        })?;
        if let Some(&top) = data.labels().iter().max() {
            if top as usize >= classes {
                return Err(Error::Config(format!(
                    "the data set has label {top}, but the model has {classes} classes (0..{})",
                    classes - 1
                )));
            }
        }
        let nz = match g.input_shape() {
            &[n] if n > classes => n - classes,
            s => {
                return Err(Error::shape(
                    "conditional trainer",
                    format!(
                        "G reads {s:?}; it must read [nz + {classes}] (z, then the one-hot label)"
                    ),
                ))
            }
        };
        let sample: usize = data.shape().iter().product();
        let g_out = g.output_shape()?;
        if g_out.iter().product::<usize>() != sample {
            return Err(Error::shape(
                "conditional trainer",
                format!(
                    "G makes samples of {g_out:?} but the data holds {:?}",
                    data.shape()
                ),
            ));
        }
        let (channels, spatial) = d_layout(d.input_shape(), data.shape(), classes)?;
        if d.output_shape()?.iter().product::<usize>() != 1 {
            return Err(Error::shape(
                "conditional trainer",
                "D must end in a single logit per sample",
            ));
        }
        let seed = config.seed;
        let b = config.batch;
        let k = config.d_steps;
        let mut it = Iteration::new(gpu, (g, d), seed, b, k, GanLoss::Bce)?;
        let state = it.state.clone();
        let mut real_shape = vec![b];
        real_shape.extend(data.shape());
        let mut d_shape = vec![b];
        d_shape.extend(it.d.model().input_shape());
        // Labels as D sees them: maps (or a row) from u32 labels, then next to the images.
        let d_input =
            |labels: &Tensor, images: &Tensor, what: &str| -> Result<(Tensor, Kernel, Kernel)> {
                let maps =
                    Tensor::zeros(gpu, &[b, classes, spatial], &format!("{what} label maps"))?;
                let input = Tensor::zeros(gpu, &d_shape, &format!("D input, {what}"))?;
                let one_hot = labels::one_hot(gpu, labels, &maps, classes, spatial)?;
                let concat = concat_channels(gpu, images, &maps, &input, b, spatial)?;
                Ok((input, one_hot, concat))
            };

        // k discriminator steps, each on a fresh real batch, fresh z and fresh fake labels.
        let mut last = None;
        for j in 0..k {
            let clock = it.clock(j);
            let z = it.z(config.noise, &[b, nz], j)?;
            let fake_labels = Tensor::zeros(gpu, &[b], "fake labels")?;
            let one_hot = Tensor::zeros(gpu, &[b, classes], "fake labels one-hot")?;
            let g_input = Tensor::zeros(gpu, &[b, nz + classes], "G input")?;
            it.kernels.extend([
                labels::draw(
                    gpu,
                    classes,
                    seed,
                    LABEL_STREAM,
                    clock,
                    &state,
                    &fake_labels,
                )?,
                labels::one_hot(gpu, &fake_labels, &one_hot, classes, 1)?,
                concat_channels(gpu, &z, &one_hot, &g_input, b, 1)?,
            ]);
            let g_tape = it.g_forward(&g_input, j)?;
            let (fake_input, maps, cat) = d_input(&fake_labels, g_tape.output(), "fake")?;
            it.kernels.extend([maps, cat]);

            let real = Tensor::zeros(gpu, &real_shape, "real batch")?;
            let real_labels = Tensor::zeros(gpu, &[b], "real labels")?;
            let gth = Gather {
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
            // The same Gather for both, so each label belongs to the image beside it.
            let (real_input, maps, cat) = d_input(&real_labels, &real, "real")?;
            it.kernels.extend([
                gather(gpu, gth, &state, &data.pixels, &real)?,
                gather_labels(gpu, gth, &state, all_labels, &real_labels)?,
                maps,
                cat,
            ]);
            let (ones, zeros) = (it.ones.clone(), it.zeros.clone());
            it.d_update(
                j,
                (&real_input, &ones),
                (&fake_input, &zeros),
                &config.d_optimizer,
            )?;
            let views = (g_input, fake_labels, fake_input, real_labels, real_input);
            if let Some((old, _)) = last.replace((g_tape, views)) {
                it.keep(old);
            }
        }
        // The generator step, through the updated D, on the last D step's fakes and labels
        // (G has not changed since, so D's fake input is still current).
        let (g_tape, (g_input, fake_labels, fake_input, real_labels, real_input)) =
            last.expect("k >= 1");
        let d_input_grad = it.g_loss_gradient(&fake_input, config.g_loss)?;
        // The label channels' gradient stops here: labels are given, not generated.
        let g_output_grad = Tensor::zeros(gpu, g_tape.output().shape(), "dG(z)")?;
        it.kernels.extend(split_channels(
            gpu,
            &d_input_grad,
            Some(&g_output_grad),
            None,
            b,
            spatial,
        )?);
        debug_assert_eq!(g_output_grad.len(), b * channels * spatial);
        let ema = it.g_update(g_tape, &g_output_grad, &config.g_optimizer, config.g_ema)?;

        // Fixed latent vectors for watching progress, each with every class: row c of the
        // samples is class c.
        let cols = config.sample_count;
        let fixed = noise(config.noise, cols * nz, seed);
        let z: Vec<f32> = (0..classes).flat_map(|_| fixed.iter().copied()).collect();
        let l: Vec<u32> = (0..classes as u32)
            .flat_map(|c| std::iter::repeat_n(c, cols))
            .collect();
        let fixed_input = Tensor::from_slice(
            gpu,
            &generator_input(&z, &l, classes)?,
            &[classes * cols, nz + classes],
            "fixed G input",
        )?;
        let what = "conditional training step";
        let run = it.finish(ema, &fixed_input, config.readback_every, what)?;
        Ok(ConditionalTrainer {
            config,
            run,
            nz,
            views: Views {
                g_input,
                fake_labels,
                fake_input,
                real_labels,
                real_input,
                d_input_grad,
                g_output_grad,
            },
        })
    }

    /// Runs one training iteration: one encoder, one submission. Every `readback_every`
    /// steps the logged metrics are copied out and collected asynchronously; a NaN or Inf in
    /// them is returned as [`Error::Diverged`] naming the step.
    pub fn step(&mut self) -> Result<()> {
        self.run.step()
    }

    /// Waits for the GPU and collects the metrics of every step run so far.
    pub fn flush(&mut self) -> Result<()> {
        self.run.flush()
    }

    /// Saves G, D, both optimisers' state, the step counter and the metrics history
    /// (atomically), and the weight average when kept. Flushes first, so a diverged state
    /// is refused rather than saved.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.run.save(path, &[])
    }

    /// Continues from a checkpoint written by [`ConditionalTrainer::save`] for the same
    /// models and configuration: parameters, moments and the step counter are restored, so
    /// the noise, the fake labels, the data order and Adam's bias correction pick up exactly
    /// where they were; so is the metrics history. The weight average is restored too, or
    /// restarted from G when the checkpoint has none.
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let ckpt = Checkpoint::open(path)?;
        self.run.resume(path, &ckpt, &[])
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.run.steps
    }

    /// The most recent metrics that have reached the CPU.
    pub fn metrics(&self) -> Option<&StepMetrics> {
        self.run.metrics()
    }

    /// Every step's metrics that have reached the CPU, in order.
    pub fn history(&self) -> &[StepMetrics] {
        self.run.history()
    }

    /// Logs a sample-quality measurement, kept with the history (and in checkpoints).
    pub fn add_quality(&mut self, point: QualityPoint) {
        self.run.quality.push(point);
    }

    /// The sample-quality measurements logged so far, in order.
    pub fn quality(&self) -> &[QualityPoint] {
        &self.run.quality
    }

    /// Generates from the fixed latent vectors, each with every class (generate mode), and
    /// returns `[classes × sample_count, ...]`: row `c` (of `sample_count` samples) is class
    /// `c`, column `j` latent vector `j` (`noise(config.noise, sample_count · nz, seed)`).
    /// Blocks: for pictures, not for the training loop.
    pub fn samples(&self) -> Result<Vec<f32>> {
        self.run.samples()
    }

    /// The tensors the last step read and passed back (see [`StepTensors`]).
    pub fn tensors(&self) -> StepTensors<'_> {
        let v = &self.views;
        StepTensors {
            g_input: &v.g_input,
            fake_labels: &v.fake_labels,
            fake_input: &v.fake_input,
            real_labels: &v.real_labels,
            real_input: &v.real_input,
            d_input_grad: &v.d_input_grad,
            g_output_grad: &v.g_output_grad,
        }
    }

    /// The generator.
    pub fn generator(&self) -> &Network {
        &self.run.g
    }

    /// The moving average of G's weights (`g_ema`), if kept.
    pub fn ema_generator(&self) -> Option<&Network> {
        self.run.ema_generator()
    }

    /// The generator to sample and evaluate: the weight average when kept, else G.
    pub fn sampling_generator(&self) -> &Network {
        self.run.sampling_generator()
    }

    /// The discriminator.
    pub fn discriminator(&self) -> &Network {
        &self.run.d
    }

    /// The configuration.
    pub fn config(&self) -> &ConditionalConfig {
        &self.config
    }

    /// Size of z (G's input less the one-hot label).
    pub fn nz(&self) -> usize {
        self.nz
    }

    /// Number of dispatches in one iteration.
    pub fn dispatches(&self) -> usize {
        self.run.kernels.len()
    }
}
