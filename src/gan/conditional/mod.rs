//! Conditional GANs (Mirza & Osindero 2014): G reads `[z | one-hot label]`; D reads the image
//! with one constant map per class stacked onto its channels (a conv D), or the one-hot row
//! appended to a flat sample (an MLP D). Real batches bring their labels from the data set
//! (gathered with the images, so each label follows its image through the shuffle); fake
//! labels are drawn uniformly on the GPU each step. A gradient penalty (R1, WGAN-GP) counts
//! D's gradient at the image alone, and WGAN-GP's points between a real and a fake sample mix
//! their images under the real sample's label. As with [`Trainer`](crate::Trainer), one
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

use std::ops::{Deref, DerefMut};

use crate::gan::iteration::Iteration;
use crate::gan::run::GanRun;
use crate::gan::{noise, streams, TrainerConfig};
use crate::nn::Sequential;
use crate::ops::concat::{concat_channels, split_channels};
use crate::ops::data::{gather, gather_labels};
use crate::ops::labels;
use crate::{Dataset, Error, Gpu, Result, Tensor};

/// The checkpoint names of the replay buffer's images and of their label maps.
const REPLAY_TENSOR: &str = "replay";
const REPLAY_LABELS_TENSOR: &str = "replay_labels";

mod networks;
use networks::d_layout;
pub use networks::{
    dcgan28_discriminator, dcgan28_discriminator_with, dcgan28_generator, generate, generate_async,
    generator_input,
};

/// The Philox stream of the fake labels (one draw per sample and D step, on the step clock).
pub const LABEL_STREAM: u32 = streams::FAKE_LABELS;

/// A conditional trainer's settings: the number of classes and everything the plain
/// trainer is configured with, every stabiliser included.
#[derive(Clone, Debug)]
pub struct ConditionalConfig {
    /// Number of classes; the data set's labels must all be below it.
    pub classes: usize,
    /// As for [`Trainer`](crate::Trainer); `sample_count` fixed latent vectors are each
    /// drawn for every class by [`GanRun::samples`]. A replay buffer keeps each
    /// replayed fake's label maps with it (`[replay_capacity, classes, h·w]` more values).
    pub gan: TrainerConfig,
}

impl ConditionalConfig {
    /// The DCGAN recipe (batch 64, z ~ N(0, 1), Adam 2e-4 (0.5, 0.999) for both, k = 1,
    /// non-saturating G loss) with `classes` classes and ten fixed latent vectors per class
    /// (a 10×10 grid for digits).
    pub fn dcgan(classes: usize) -> Self {
        ConditionalConfig {
            classes,
            gan: TrainerConfig {
                sample_count: 10,
                ..TrainerConfig::dcgan()
            },
        }
    }

    fn validate(&self) -> Result<()> {
        if self.classes < 2 {
            return Err(Error::Config(format!(
                "classes (a condition needs two) must be at least 2, got {}",
                self.classes
            )));
        }
        self.gan.validate()
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
    run: GanRun,
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
        let gan = &config.gan;
        let (b, seed) = (gan.batch, gan.seed);
        let replayed = [
            (REPLAY_TENSOR, g_out.as_slice()),
            (REPLAY_LABELS_TENSOR, &[classes, spatial][..]),
        ];
        let mut it = Iteration::new(gpu, (g, d), gan, &replayed)?;
        // A penalty counts D's gradient at the image, not at the label maps after it.
        it.penalised_part = Some(sample);
        let state = it.rec.state.clone();
        let mut real_shape = vec![b];
        real_shape.extend(data.shape());
        let mut d_shape = vec![b];
        d_shape.extend(it.d.model().input_shape());
        // Labels as D sees them: maps (or a row) of the u32 labels, to stand beside images.
        let maps = |it: &mut Iteration, labels: &Tensor, what: &str| -> Result<Tensor> {
            let maps = Tensor::zeros(gpu, &[b, classes, spatial], &format!("{what} label maps"))?;
            it.rec
                .push(labels::one_hot(gpu, labels, &maps, classes, spatial)?);
            Ok(maps)
        };
        let d_input = |it: &mut Iteration, images: &Tensor, maps: &Tensor, what: &str| {
            let input = Tensor::zeros(gpu, &d_shape, &format!("D input, {what}"))?;
            it.rec
                .push(concat_channels(gpu, images, maps, &input, b, spatial)?);
            Ok::<_, Error>(input)
        };

        // k discriminator steps, each on a fresh real batch, fresh z and fresh fake labels.
        let mut last = None;
        for j in 0..gan.d_steps {
            let clock = it.clock(j);
            let z = it.z(&[b, nz], j)?;
            let fake_labels = Tensor::zeros(gpu, &[b], "fake labels")?;
            let one_hot = Tensor::zeros(gpu, &[b, classes], "fake labels one-hot")?;
            let g_input = Tensor::zeros(gpu, &[b, nz + classes], "G input")?;
            let draw = labels::draw_at(
                gpu,
                classes,
                (seed, LABEL_STREAM, clock),
                it.rec.shard().draw_offset(b),
                &state,
                &fake_labels,
            );
            it.rec.extend([
                draw?,
                labels::one_hot(gpu, &fake_labels, &one_hot, classes, 1)?,
                concat_channels(gpu, &z, &one_hot, &g_input, b, 1)?,
            ]);
            let g_tape = it.g_forward(&g_input, j)?;
            let fake_maps = maps(&mut it, &fake_labels, "fake")?;

            let real = Tensor::zeros(gpu, &real_shape, "real batch")?;
            let real_labels = Tensor::zeros(gpu, &[b], "real labels")?;
            // The same Gather for both, so each label belongs to the image beside it.
            let gth = data.gather(b, seed, it.rec.shard().data_clock(clock));
            it.rec.extend([
                gather(gpu, gth, &state, &data.pixels, &real)?,
                gather_labels(gpu, gth, &state, all_labels, &real_labels)?,
            ]);
            let real_maps = maps(&mut it, &real_labels, "real")?;
            // A replayed fake keeps its label maps; noise goes on the images only.
            let parts = [g_tape.output(), &fake_maps];
            let (real_images, fakes) =
                it.stabilisers.d_inputs(&mut it.rec, clock, &real, &parts)?;
            let fake_input = d_input(&mut it, &fakes[0], &fakes[1], "fake")?;
            let real_input = d_input(&mut it, &real_images, &real_maps, "real")?;
            it.d_update(j, &real_input, &fake_input)?;
            let views = (g_input, fake_labels, fake_input, real_labels, real_input);
            if let Some((old, ..)) = last.replace((g_tape, views, fake_maps, fakes)) {
                it.rec.keep(old);
            }
        }
        // The generator step, through the updated D, on the last D step's fakes and labels
        // (G has not changed since, so D's fake input is still current unless replayed).
        let (g_tape, views, fake_maps, fakes) = last.expect("k >= 1");
        let (g_input, fake_labels, fake_input, real_labels, real_input) = views;
        let g_clock = it.g_clock();
        let images = it
            .stabilisers
            .g_input(&mut it.rec, g_clock, g_tape.output(), &fakes[0])?;
        let g_step_input = if it.stabilisers.replays() {
            d_input(&mut it, &images, &fake_maps, "G step")?
        } else {
            fake_input.clone()
        };
        let d_input_grad = it.g_loss_gradient(&g_step_input)?;
        // The label channels' gradient stops here: labels are given, not generated.
        let g_output_grad = Tensor::zeros(gpu, g_tape.output().shape(), "dG(z)")?;
        it.rec.extend(split_channels(
            gpu,
            &d_input_grad,
            Some(&g_output_grad),
            None,
            b,
            spatial,
        )?);
        debug_assert_eq!(g_output_grad.len(), b * channels * spatial);
        let ema = it.g_update(g_tape, &g_output_grad)?;

        // Fixed latent vectors for watching progress, each with every class: row c of the
        // samples is class c.
        let cols = gan.sample_count;
        let fixed = noise(gan.noise, cols * nz, seed);
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
        let run = it.finish(ema, &fixed_input, what)?;
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

    /// The configuration.
    pub fn config(&self) -> &ConditionalConfig {
        &self.config
    }

    /// The replay buffer, if kept: the replayed images (`[replay_capacity, ...sample]`) and
    /// each one's label maps (`[replay_capacity, classes, h·w]`, h·w = 1 for a flat D).
    pub fn replay_buffer(&self) -> Option<(&Tensor, &Tensor)> {
        match self.run.tensors.as_slice() {
            [(_, images), (_, maps)] => Some((images, maps)),
            _ => None,
        }
    }

    /// Size of z (G's input less the one-hot label).
    pub fn nz(&self) -> usize {
        self.nz
    }
}

impl Deref for ConditionalTrainer {
    type Target = GanRun;

    fn deref(&self) -> &GanRun {
        &self.run
    }
}

impl DerefMut for ConditionalTrainer {
    fn deref_mut(&mut self) -> &mut GanRun {
        &mut self.run
    }
}
