//! The digit classifier that judges generated samples: a small convnet trained by counterfeit
//! itself (see [`crate::eval::ClassifierTrainer`]), run in eval mode in fixed-size chunks.
//! Its penultimate activations are the features of the Fréchet distance; its softmax gives
//! the score and the mode coverage.

use std::path::{Path, PathBuf};

use crate::data::idx::Digits;
use crate::gpu::Kernel;
use crate::io::checkpoint::{self, Checkpoint};
use crate::nn::{Mode, Network, RngSpec, Sequential};
use crate::ops::{softmax, Clock};
use crate::tape::Tape;
use crate::{Error, Gpu, Result, Tensor};

/// Digit classes.
pub const CLASSES: usize = 10;
/// Width of the feature vector (the penultimate layer).
pub const FEATURES: usize = 128;
/// Side of the square single-channel images the classifier reads.
pub const SIDE: usize = 28;
/// The bundled 10,000 digits split into this many training digits and a held-out rest.
pub const TRAIN_PART: usize = 9000;
/// Images classified per dispatch; the last chunk is zero-padded (eval mode makes rows
/// independent, so padding changes nothing).
const CHUNK: usize = 500;
/// The name the network has in weight files.
const NAME: &str = "classifier";

/// The LeNet-style network: strided convolutions instead of pooling, batch norm, ReLU, a
/// 128-unit dense layer (the features) and ten logits. About 12 MFLOP per image.
pub fn model() -> Sequential {
    Sequential::new([1, SIDE, SIDE])
        .conv(16, 3, 1, 1)
        .batch_norm()
        .relu()
        .conv(32, 4, 2, 1) // 14×14
        .batch_norm()
        .relu()
        .conv(32, 3, 1, 1)
        .batch_norm()
        .relu()
        .conv(64, 4, 2, 1) // 7×7
        .batch_norm()
        .relu()
        .conv(64, 3, 2, 1) // 4×4
        .batch_norm()
        .relu()
        .flatten()
        .linear_no_bias(FEATURES)
        .batch_norm()
        .relu()
        .linear(CLASSES)
}

/// The shipped weights, trained on the bundled digits' training part.
pub fn bundled_weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mnist_classifier.safetensors")
}

/// What the classifier says about a set of images.
#[derive(Clone, Debug)]
pub struct Outputs {
    /// Number of images.
    pub n: usize,
    /// `[n, FEATURES]` penultimate activations.
    pub features: Vec<f32>,
    /// `[n, CLASSES]` softmax probabilities.
    pub probs: Vec<f32>,
}

impl Outputs {
    /// The most probable class of each image.
    pub fn predictions(&self) -> Vec<usize> {
        self.probs
            .chunks_exact(CLASSES)
            .map(|p| {
                (0..CLASSES)
                    .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The fraction of images whose prediction equals its label.
    pub fn accuracy(&self, labels: &[u8]) -> f64 {
        let hits = self
            .predictions()
            .iter()
            .zip(labels)
            .filter(|(p, &l)| **p == l as usize)
            .count();
        hits as f64 / self.n.max(1) as f64
    }
}

/// A trained classifier with its eval-mode kernels built once.
pub struct Classifier {
    gpu: Gpu,
    net: Network,
    tape: Tape,
    kernels: Vec<Kernel>,
    probs: Tensor,
}

impl Classifier {
    /// Wraps a trained network of [`model`]'s layers.
    pub fn new(gpu: &Gpu, net: Network) -> Result<Classifier> {
        let input = Tensor::zeros(gpu, &[CHUNK, 1, SIDE, SIDE], "classifier input")?;
        let state = crate::step::StepState::tensor(gpu, "classifier clock")?;
        let rng = RngSpec {
            seed: 0,
            stream: 0,
            clock: Clock::ITERATION,
        };
        let tape = net.tape(gpu, &input, Mode::Eval, rng, &state)?;
        let probs = Tensor::zeros(gpu, &[CHUNK, CLASSES], "classifier probabilities")?;
        let mut kernels = tape.forward().to_vec();
        kernels.push(softmax::softmax(gpu, tape.output(), &probs)?);
        if tape.layer_output(feature_layer(&net)).map(|t| t.len()) != Some(CHUNK * FEATURES) {
            return Err(Error::shape(
                "classifier",
                "the network is not the classifier model",
            ));
        }
        Ok(Classifier {
            gpu: gpu.clone(),
            net,
            tape,
            kernels,
            probs,
        })
    }

    /// Loads weights written by [`Classifier::save`].
    pub fn load(gpu: &Gpu, path: &Path) -> Result<Classifier> {
        let net = Network::new(gpu, NAME, model(), 0)?;
        Checkpoint::open(path)?.load_network(gpu, NAME, &net, false)?;
        Classifier::new(gpu, net)
    }

    /// The classifier shipped with the crate (see [`bundled_weights`]).
    pub fn bundled(gpu: &Gpu) -> Result<Classifier> {
        Classifier::load(gpu, &bundled_weights())
    }

    /// Writes the weights and batch-norm statistics (no optimiser state).
    pub fn save(&self, path: &Path) -> Result<()> {
        checkpoint::save_weights(&self.gpu, path, &[(NAME, &self.net)])
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Classifies `images` (`[n, 28·28]`, pixels in [0, 1], white digit on black).
    pub fn classify(&self, images: &[f32]) -> Result<Outputs> {
        let size = SIDE * SIDE;
        if images.is_empty() || !images.len().is_multiple_of(size) {
            return Err(Error::shape(
                "classifier",
                format!("{} values are not whole {SIDE}×{SIDE} images", images.len()),
            ));
        }
        let n = images.len() / size;
        let feats = self
            .tape
            .layer_output(feature_layer(&self.net))
            .expect("checked in new");
        let mut out = Outputs {
            n,
            features: Vec::with_capacity(n * FEATURES),
            probs: Vec::with_capacity(n * CLASSES),
        };
        let mut chunk = vec![0.0; CHUNK * size];
        for part in images.chunks(CHUNK * size) {
            let rows = part.len() / size;
            chunk[..part.len()].copy_from_slice(part);
            chunk[part.len()..].fill(0.0);
            self.tape.input().write(&self.gpu, &chunk)?;
            self.gpu.run(&self.kernels.iter().collect::<Vec<_>>())?;
            out.features
                .extend_from_slice(&feats.read(&self.gpu)?[..rows * FEATURES]);
            out.probs
                .extend_from_slice(&self.probs.read(&self.gpu)?[..rows * CLASSES]);
        }
        Ok(out)
    }

    /// Classifies digits (their bytes scaled to [0, 1]).
    pub fn classify_digits(&self, digits: &Digits) -> Result<Outputs> {
        if digits.images.rows != SIDE || digits.images.cols != SIDE {
            return Err(Error::shape(
                "classifier",
                format!(
                    "it reads {SIDE}×{SIDE} digits, not {}×{}",
                    digits.images.rows, digits.images.cols
                ),
            ));
        }
        self.classify(&digits.images.to_f32(0.0, 1.0))
    }
}

/// The layer whose output is the feature vector: the ReLU before the last dense layer.
fn feature_layer(net: &Network) -> usize {
    net.layers().len().saturating_sub(2)
}
