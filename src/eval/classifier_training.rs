//! Training the digit classifier with counterfeit's own kernels: a labelled batch gathered on
//! the GPU, forward, softmax cross-entropy, backward and Adam, recorded once and replayed with
//! one submission per step, as the GAN trainer does.

use crate::eval::classifier::{model, Classifier, CLASSES};
use crate::nn::{Mode, Network};
use crate::ops::data::{gather, gather_labels};
use crate::ops::softmax::{softmax_ce, SoftmaxCeOut};
use crate::ops::Clock;
use crate::step::{Logged, Recorder, Replayer};
use crate::tape::ParamGrads;
use crate::{Dataset, Error, Gpu, Optimizer, Result, Tensor};

/// Metric slots: mean loss and accuracy of each step's batch.
const SLOTS: [&str; 2] = ["classifier loss", "classifier accuracy"];

/// How the classifier is trained.
#[derive(Clone, Copy, Debug)]
pub struct ClassifierConfig {
    /// Labelled images per step.
    pub batch: usize,
    /// The optimiser (Adam by default).
    pub optimizer: Optimizer,
    /// From this step on, Adam's learning rate is multiplied by `lr_drop` (a step schedule:
    /// held-out accuracy wanders at a high rate and settles after the drop).
    pub drop_at: Option<u64>,
    /// The factor the learning rate is multiplied by at `drop_at`.
    pub lr_drop: f32,
    /// Seeds the weights and the data order.
    pub seed: u64,
    /// Steps whose metrics the GPU keeps for [`ClassifierTrainer::recent`].
    pub window: usize,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig {
            batch: 64,
            optimizer: Optimizer::Adam {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            drop_at: None,
            lr_drop: 0.1,
            seed: 1,
            window: 50,
        }
    }
}

/// Mean loss and accuracy over recent training batches.
#[derive(Clone, Copy, Debug)]
pub struct BatchFigures {
    /// Mean softmax cross-entropy.
    pub loss: f32,
    /// Fraction of the batch classified correctly.
    pub accuracy: f32,
}

/// Trains [`model`] on a labelled data set of 28×28 digits with pixels in [0, 1].
pub struct ClassifierTrainer {
    /// The step before and after the learning-rate drop: the same kernels but the optimiser.
    step: Replayer<Logged>,
    window: usize,
    judge: Classifier,
}

impl ClassifierTrainer {
    /// Records one training step; nothing is created after this returns.
    pub fn new(gpu: &Gpu, data: &Dataset, config: ClassifierConfig) -> Result<ClassifierTrainer> {
        let labels = data
            .label_tensor()
            .ok_or_else(|| Error::Config("the classifier needs a data set with labels".into()))?;
        let m = model();
        if data.shape() != m.input_shape() {
            return Err(Error::shape(
                "classifier",
                format!(
                    "it reads {:?} images, the data holds {:?}",
                    m.input_shape(),
                    data.shape()
                ),
            ));
        }
        if config.batch == 0 || config.window == 0 {
            return Err(Error::Config(
                "classifier batch and window must be at least 1".into(),
            ));
        }
        let (b, seed, it) = (config.batch, config.seed, Clock::ITERATION);
        let net = Network::new(gpu, "classifier", m, seed)?;
        let mut rec =
            Recorder::new(gpu, seed, SLOTS.len())?.lowering_rates(config.drop_at, config.lr_drop);
        let mut shape = vec![b];
        shape.extend(data.shape());
        let images = Tensor::zeros(gpu, &shape, "classifier batch")?;
        let batch_labels = Tensor::from_u32(gpu, &vec![0; b], "classifier batch labels")?;
        let g = data.gather(b, seed, rec.shard().data_clock(it));
        let tape = net.tape(gpu, &images, Mode::Train, rec.rng(0, it), &rec.state)?;
        let grad = Tensor::zeros(gpu, &[b, CLASSES], "dlogits")?;
        rec.extend([
            gather(gpu, g, &rec.state, &data.pixels, &images)?,
            gather_labels(gpu, g, &rec.state, labels, &batch_labels)?,
        ]);
        rec.forward(&tape);
        let out = SoftmaxCeOut {
            loss_slot: 0,
            acc_slot: 1,
            grad_scale: 1.0 / b as f32,
        };
        let ce = softmax_ce(gpu, tape.output(), &batch_labels, &grad, &rec.metrics, out)?;
        rec.push(ce);
        rec.extend(tape.backward(gpu, &grad, ParamGrads::Write, None)?);
        rec.optimise(&config.optimizer, it, &net)?;
        rec.keep(tape);
        let judge = Classifier::new(gpu, net.clone())?;
        let step = rec.finish(config.window, &SLOTS, "classifier step")?;
        Ok(ClassifierTrainer {
            step,
            window: config.window,
            judge,
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

    /// Mean loss and accuracy over the last `window` steps (waits for the GPU: call it now
    /// and then, not every step). A non-finite loss is [`Error::Diverged`] with its step.
    pub fn recent(&mut self) -> Result<BatchFigures> {
        let m = self.step.recent(self.window)?;
        Ok(BatchFigures {
            loss: m[0] as f32,
            accuracy: m[1] as f32,
        })
    }

    /// The classifier as trained so far (eval mode; it shares the weights being trained).
    pub fn classifier(&self) -> &Classifier {
        &self.judge
    }

    /// The trained classifier.
    pub fn finish(self) -> Classifier {
        self.judge
    }
}
