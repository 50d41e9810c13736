//! The semi-supervised GAN of Salimans et al. 2016 (§5): D is a classifier over the K digit
//! classes plus "fake", with the fake logit fixed at 0, so D(x) = Z/(Z + 1) for
//! Z = Σ_k exp(l_k(x)). D learns from softmax cross-entropy on a few labelled digits plus the
//! GAN's real/fake loss on unlabelled and generated ones (BCE on log Z); G learns by feature
//! matching on D's last hidden layer. Every step is one submission, as in the GAN trainer.
//!
//! With `adversarial: false` the same D is trained on the labelled digits alone: the baseline
//! that shows what the unlabelled digits and G add.

use crate::data::idx::Digits;
use crate::gan::streams::{D as STREAM_D, G as STREAM_G, Z as STREAM_Z};
use crate::gpu::Kernel;
use crate::nn::{Mode, Network, RngSpec, Sequential};
use crate::ops::data::gather_labels;
use crate::ops::rng::{self, Distribution};
use crate::ops::Clock;
use crate::philox::draw;
use crate::step::{Logged, Recorder, Replayer};
use crate::tape::Tape;
use crate::{Dataset, Error, Gpu, Optimizer, Result, Tensor};

/// Digit classes (the "fake" class is implicit).
pub const CLASSES: usize = 10;
/// Images are 28×28 with pixels in [0, 1].
const SIDE: usize = 28;
/// G's latent size; z ~ U(0, 1) as in the paper's MNIST model.
pub const LATENT: usize = 100;

/// Metric slots: labelled loss and accuracy, unsupervised D loss, D(real), D(fake), G's
/// feature-matching loss.
const SLOTS: [&str; 6] = [
    "labelled loss",
    "labelled accuracy",
    "unsupervised D loss",
    "D(x)",
    "D(G(z))",
    "feature-matching loss",
];
const LAB_LOSS: usize = 0;
const LAB_ACC: usize = 1;
const UNSUP_LOSS: usize = 2;
const D_REAL: usize = 3;
const D_FAKE: usize = 4;
const FM_LOSS: usize = 5;

/// Images classified per evaluation pass.
const EVAL_CHUNK: usize = 500;

/// The paper's MNIST discriminator: Gaussian noise (σ 0.3 on the input, 0.5 after) before
/// each dense layer, ReLU hidden layers of `hidden` units, and K class logits.
pub fn discriminator(hidden: &[usize]) -> Sequential {
    let mut d = Sequential::new([1, SIDE, SIDE]).flatten();
    for (i, &units) in hidden.iter().enumerate() {
        d = d
            .gaussian_noise(if i == 0 { 0.3 } else { 0.5 })
            .linear(units)
            .relu();
    }
    d.gaussian_noise(0.5).linear(CLASSES)
}

/// Layers of D up to its last hidden layer's ReLU: the features G matches.
fn feature_layers(d: &Sequential) -> usize {
    d.layers().count() - 2
}

/// The paper's MNIST generator (ReLU for its softplus): 100 → 500 → 500 with batch norm,
/// then 784 sigmoid pixels.
pub fn generator() -> Sequential {
    Sequential::new([LATENT])
        .linear_no_bias(500)
        .batch_norm()
        .relu()
        .linear_no_bias(500)
        .batch_norm()
        .relu()
        .linear(SIDE * SIDE)
        .sigmoid()
        .reshape([1, SIDE, SIDE])
}

/// How the semi-supervised GAN is trained.
#[derive(Clone, Debug)]
pub struct SemiConfig {
    /// Labelled, unlabelled and generated samples per step (each).
    pub batch: usize,
    /// Units of D's hidden layers.
    pub hidden: Vec<usize>,
    /// D's optimiser.
    pub d_optimizer: Optimizer,
    /// G's optimiser.
    pub g_optimizer: Optimizer,
    /// From this step on both learning rates are multiplied by `lr_drop`.
    pub drop_at: Option<u64>,
    /// The factor both learning rates are multiplied by at `drop_at`.
    pub lr_drop: f32,
    /// Seeds the weights, the noise, z and the data order.
    pub seed: u64,
    /// False trains D on the labelled digits alone (no G, no unlabelled digits).
    pub adversarial: bool,
    /// Steps whose metrics the GPU keeps for [`SemiTrainer::recent`].
    pub window: usize,
}

impl Default for SemiConfig {
    /// The paper's MNIST settings: batch 100, D 1000-500-250-250-250, Adam 3e-3 (β₁ 0.5).
    fn default() -> Self {
        let adam = Optimizer::Adam {
            lr: 3e-3,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        };
        SemiConfig {
            batch: 100,
            hidden: vec![1000, 500, 250, 250, 250],
            d_optimizer: adam,
            g_optimizer: adam,
            drop_at: None,
            lr_drop: 0.1,
            seed: 1,
            adversarial: true,
            window: 50,
        }
    }
}

/// Means over recent steps.
#[derive(Clone, Copy, Debug, Default)]
pub struct SemiFigures {
    /// Cross-entropy and accuracy on the labelled batches.
    pub labelled_loss: f32,
    /// Fraction of the labelled batch classified correctly.
    pub labelled_accuracy: f32,
    /// D's real/fake loss (half real, half fake) and its mean D(x), D(G(z)).
    pub unsupervised_loss: f32,
    /// Mean D(x) on the unlabelled digits.
    pub d_real: f32,
    /// Mean D(G(z)).
    pub d_fake: f32,
    /// G's feature-matching loss.
    pub feature_matching: f32,
}

/// `per_class` digits of each class drawn from `digits` by `seed`, in class order: the
/// labelled part of a semi-supervised run. Errors when a class has too few.
pub fn labelled_subset(digits: &Digits, per_class: usize, seed: u64) -> Result<Digits> {
    if per_class == 0 {
        return Err(Error::Config("at least one label per class".into()));
    }
    let mut picked = Vec::with_capacity(per_class * CLASSES);
    for class in 0..CLASSES as u8 {
        let mut members: Vec<(u32, usize)> = (0..digits.len())
            .filter(|&i| digits.labels[i] == class)
            .map(|i| (draw(seed, class as u32, 0x5e, i as u32)[0], i))
            .collect();
        if members.len() < per_class {
            return Err(Error::Config(format!(
                "{per_class} labels per class asked for, but digit {class} has only {} samples",
                members.len()
            )));
        }
        // A keyed random order: the same seed always labels the same digits.
        members.sort_unstable();
        picked.extend(members[..per_class].iter().map(|&(_, i)| i));
    }
    Ok(digits.select(&picked))
}

mod recording;
use recording::Recording;

/// Trains [`discriminator`] (and [`generator`]) semi-supervised.
pub struct SemiTrainer {
    gpu: Gpu,
    step: Replayer<Logged>,
    window: usize,
    d: Network,
    g: Option<Network>,
    eval: Tape,
}

impl SemiTrainer {
    /// Records one step: the labelled and unlabelled digits are each gathered on the GPU
    /// (`unlabelled` is unused when the config is not adversarial). Nothing is created after
    /// this returns.
    pub fn new(
        gpu: &Gpu,
        labelled: &Dataset,
        unlabelled: &Dataset,
        config: SemiConfig,
    ) -> Result<SemiTrainer> {
        let labels = labelled.label_tensor().ok_or_else(|| {
            Error::Config("the labelled part of a semi-supervised run needs labels".into())
        })?;
        for data in [labelled, unlabelled] {
            if data.shape() != [1, SIDE, SIDE] {
                return Err(Error::shape(
                    "semi-supervised GAN",
                    format!("it reads 1×28×28 digits, not {:?}", data.shape()),
                ));
            }
        }
        if config.batch == 0 || config.window == 0 || config.hidden.is_empty() {
            return Err(Error::Config(
                "batch, window and D's hidden layers must each be at least 1".into(),
            ));
        }
        let (b, seed) = (config.batch, config.seed);
        let d_model = discriminator(&config.hidden);
        let features = feature_layers(&d_model);
        let d = Network::new(gpu, "D", d_model, seed ^ 0xD_0000)?;
        let rec =
            Recorder::new(gpu, seed, SLOTS.len())?.lowering_rates(config.drop_at, config.lr_drop);
        let state = rec.state.clone();
        let mut rec = Recording { rec, batch: b };
        let lab = rec.gathered(labelled, seed, "labelled batch")?;
        let lab_labels = Tensor::from_u32(gpu, &vec![0; b], "labelled batch labels")?;
        let g_lab = rec.gather_spec(labelled, seed);
        rec.rec
            .push(gather_labels(gpu, g_lab, &state, labels, &lab_labels)?);
        rec.labelled_loss(&d, &lab, &lab_labels)?;

        let mut g_step = Vec::new();
        let mut g = None;
        if config.adversarial {
            let unl = rec.gathered(unlabelled, seed ^ 0x5EED, "unlabelled batch")?;
            let z = Tensor::zeros(gpu, &[b, LATENT], "z")?;
            let uniform = Distribution::Uniform {
                low: 0.0,
                high: 1.0,
            };
            let clock = Clock::ITERATION;
            let first = rec.rec.shard().draw_offset(z.len());
            let draw = (seed, STREAM_Z, clock);
            rec.rec
                .push(rng::fill_at(gpu, uniform, draw, first, &state, &z)?);
            let g_net = Network::new(gpu, "G", generator(), seed ^ 0x6_0000)?;
            let g_tape = g_net.tape(gpu, &z, Mode::Train, rec.rng(STREAM_G), &state)?;
            rec.rec.forward(&g_tape);
            rec.real_fake_loss(&d, &unl, true)?;
            rec.real_fake_loss(&d, g_tape.output(), false)?;
            g_step = rec.feature_matching_step(&d.prefix(features)?, &g_tape, &unl)?;
            rec.rec.keep(g_tape);
            g = Some(g_net);
        }
        // D's update, then G's from the kernels that follow D's (feature matching reads D).
        let mut rec = rec.rec;
        rec.optimise(&config.d_optimizer, Clock::ITERATION, &d)?;
        if let Some(g_net) = &g {
            rec.extend(g_step);
            rec.optimise(&config.g_optimizer, Clock::ITERATION, g_net)?;
        }
        let step = rec.finish(config.window, &SLOTS, "semi-supervised GAN step")?;

        let eval_in = Tensor::zeros(gpu, &[EVAL_CHUNK, 1, SIDE, SIDE], "evaluation batch")?;
        let no_noise = RngSpec {
            seed,
            stream: 0,
            clock: Clock::ITERATION,
        };
        let eval = d.tape(gpu, &eval_in, Mode::Eval, no_noise, &state)?;
        Ok(SemiTrainer {
            gpu: gpu.clone(),
            step,
            window: config.window,
            d,
            g,
            eval,
        })
    }

    /// One step: one encoder, one submission; every `window` steps the metrics are copied
    /// out and collected later without waiting.
    pub fn step(&mut self) -> Result<()> {
        self.step.step()
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.step.steps()
    }

    /// Data-parallel: checks that every rank holds rank 0's parameters of D and G, bit for
    /// bit. Collective: every rank must call it. Alone, nothing to check.
    pub fn check_ranks_agree(&self) -> Result<()> {
        let nets: Vec<&Network> = std::iter::once(&self.d).chain(self.g.as_ref()).collect();
        crate::distributed::check_networks_agree(&self.gpu, &nets)
    }

    /// Means over the last `window` steps (waits for the GPU: call it now and then). A
    /// non-finite figure is [`Error::Diverged`] with its step.
    pub fn recent(&mut self) -> Result<SemiFigures> {
        let m = self.step.recent(self.window)?;
        Ok(SemiFigures {
            labelled_loss: m[LAB_LOSS] as f32,
            labelled_accuracy: m[LAB_ACC] as f32,
            unsupervised_loss: m[UNSUP_LOSS] as f32,
            d_real: m[D_REAL] as f32,
            d_fake: m[D_FAKE] as f32,
            feature_matching: m[FM_LOSS] as f32,
        })
    }

    /// D's class decisions (arg-max over the K logits, noise off) on `digits`.
    pub fn predict(&self, digits: &Digits) -> Result<Vec<u8>> {
        if digits.images.rows != SIDE || digits.images.cols != SIDE {
            return Err(Error::shape(
                "semi-supervised GAN",
                format!(
                    "it reads 28×28 digits, not {}×{}",
                    digits.images.rows, digits.images.cols
                ),
            ));
        }
        let size = SIDE * SIDE;
        let pixels = digits.images.to_f32(0.0, 1.0);
        let mut chunk = vec![0.0; EVAL_CHUNK * size];
        let mut out = Vec::with_capacity(digits.len());
        let kernels: Vec<&Kernel> = self.eval.forward().iter().collect();
        for part in pixels.chunks(EVAL_CHUNK * size) {
            chunk[..part.len()].copy_from_slice(part);
            chunk[part.len()..].fill(0.0);
            self.eval.input().write(&self.gpu, &chunk)?;
            self.gpu.run(&kernels)?;
            let logits = self.eval.output().read(&self.gpu)?;
            out.extend(
                logits
                    .chunks_exact(CLASSES)
                    .take(part.len() / size)
                    .map(|l| {
                        (0..CLASSES)
                            .max_by(|&a, &b| l[a].total_cmp(&l[b]))
                            .unwrap_or(0) as u8
                    }),
            );
        }
        Ok(out)
    }

    /// The fraction of `digits` that D classifies wrongly.
    pub fn test_error(&self, digits: &Digits) -> Result<f64> {
        let wrong = self
            .predict(digits)?
            .iter()
            .zip(&digits.labels)
            .filter(|(p, l)| p != l)
            .count();
        Ok(wrong as f64 / digits.len().max(1) as f64)
    }

    /// The classifier (D).
    pub fn discriminator(&self) -> &Network {
        &self.d
    }

    /// The generator, when the run is adversarial.
    pub fn generator(&self) -> Option<&Network> {
        self.g.as_ref()
    }
}
