//! Every metric for one set of samples, measured against the real digits: the classifier's
//! features of the training part are the Fréchet reference; Parzen's σ is chosen on the last
//! 1,000 training digits and its likelihood measured on the held-out part.

use std::path::Path;

use crate::data::idx::{self, Digits};
use crate::eval::classifier::{bundled_weights, Classifier, CLASSES, FEATURES, SIDE, TRAIN_PART};
use crate::eval::coverage::Coverage;
use crate::eval::frechet::{frechet_distance, Gaussian};
use crate::eval::parzen::{default_sigmas, parzen, ParzenResult};
use crate::eval::pyramid::LEVELS;
use crate::eval::real_features::{self, Provenance};
use crate::eval::score::inception_score;
use crate::eval::swd::{swd, SwdOptions, SwdReport};
use crate::gan::recipes::Recipe;
use crate::gan::{generate_batched, noise};
use crate::metrics::QualityPoint;
use crate::{Error, Gpu, Network, Result};

/// Seed of the latent vectors of [`Judge::measure`].
const MEASURE_SEED: u64 = 7;

/// Digits at the end of the training part that choose Parzen's σ.
const PARZEN_VALIDATION: usize = 1000;

/// The figures for one set of samples.
#[derive(Clone, Debug)]
pub struct Report {
    /// Number of samples the figures are computed from.
    pub n: usize,
    /// Fréchet distance of classifier features to the real training digits (lower is better).
    pub fid: f64,
    /// Inception-style score, 1 to 10 (higher is better).
    pub score: f64,
    /// How many digit classes the samples cover, and how confidently.
    pub coverage: Coverage,
    /// Parzen-window log-likelihood of the held-out digits (nats, higher is better), when asked.
    pub parzen: Option<ParzenResult>,
    /// Sliced Wasserstein distance to the real training digits (×10³, lower is better),
    /// when asked (see [`Judge::swd`]).
    pub swd: Option<SwdReport>,
}

impl Report {
    /// FID, score, coverage and the SWD's mean (when measured) in one line, for progress
    /// output.
    pub fn summary(&self) -> String {
        let swd = match &self.swd {
            Some(s) => format!(", SWD {:.1}", s.mean),
            None => String::new(),
        };
        format!(
            "FID {:.2}, score {:.2}, {} classes covered{swd} (N = {})",
            self.fid, self.score, self.coverage.covered, self.n
        )
    }

    /// FID, score, coverage and the SWD's levels (when measured) as measured at `step`, for a
    /// run's quality log.
    pub fn at(&self, step: u64) -> QualityPoint {
        QualityPoint {
            step,
            n: self.n,
            fid: self.fid,
            score: self.score,
            classes_covered: self.coverage.covered,
            swd: self
                .swd
                .as_ref()
                .and_then(|s| <[f64; LEVELS]>::try_from(s.per_level.as_slice()).ok()),
        }
    }

    /// Every figure as a small table, one per line, headed by `label`.
    pub fn table(&self, label: &str) -> String {
        let c = &self.coverage;
        let mut t = format!("{label}, N = {}\n", self.n);
        t += &format!("  FID (classifier features)   {:>10.3}\n", self.fid);
        t += &format!(
            "  Inception-style score       {:>10.3}   (max 10)\n",
            self.score
        );
        t += &format!(
            "  classes covered             {:>10}   (≥ half their share)\n",
            c.covered
        );
        t += &format!(
            "  mean confidence             {:>10.3}\n",
            c.mean_confidence
        );
        t += &format!("  class histogram             {:?}\n", c.histogram);
        if let Some(p) = &self.parzen {
            t += &format!(
                "  Parzen log-likelihood       {:>10.1} ± {:.1} nats   (σ = {:.3})\n",
                p.mean, p.std_err, p.sigma
            );
        }
        if let Some(s) = &self.swd {
            t += &format!(
                "  SWD ×10³ (28/14/7 px, mean) {:>10.2} {:.2} {:.2}, {:.2}   ({} patches per level)\n",
                s.per_level[0], s.per_level[1], s.per_level[2], s.mean, s.patches
            );
        }
        t
    }

    /// One JSON object with every figure, labelled.
    pub fn json(&self, label: &str) -> String {
        let parzen = match &self.parzen {
            Some(p) => format!(
                ",\"parzen_ll\":{:.2},\"parzen_se\":{:.2},\"parzen_sigma\":{:.4}",
                p.mean, p.std_err, p.sigma
            ),
            None => String::new(),
        };
        let swd = match &self.swd {
            Some(s) => format!(
                ",\"swd\":{:?},\"swd_mean\":{:.4},\"swd_patches\":{}",
                s.per_level
                    .iter()
                    .map(|v| (v * 1e4).round() / 1e4)
                    .collect::<Vec<_>>(),
                s.mean,
                s.patches
            ),
            None => String::new(),
        };
        format!(
            "{{\"label\":\"{}\",\"n\":{},\"fid\":{:.4},\"score\":{:.4},\"classes_covered\":{},\"mean_confidence\":{:.4},\"histogram\":{:?}{parzen}{swd}}}",
            label.replace('"', "'"),
            self.n,
            self.fid,
            self.score,
            self.coverage.covered,
            self.coverage.mean_confidence,
            self.coverage.histogram,
        )
    }
}

/// Errors unless `train` leaves digits for Parzen's σ after its validation part.
fn check_enough(train: &Digits) -> Result<()> {
    if train.len() <= PARZEN_VALIDATION {
        return Err(Error::Config(format!(
            "the judge needs more than {PARZEN_VALIDATION} training digits"
        )));
    }
    Ok(())
}

/// The classifier and the real digits every sample set is compared with.
pub struct Judge {
    gpu: Gpu,
    classifier: Classifier,
    real: Gaussian,
    /// Training digits not used for σ (Parzen samples of the reference row).
    train: Vec<f32>,
    validation: Vec<f32>,
    held_out: Vec<f32>,
}

impl Judge {
    /// The shipped classifier and the bundled digits' fixed split.
    pub fn bundled(gpu: &Gpu) -> Result<Judge> {
        Judge::with_weights(gpu, &bundled_weights())
    }

    /// The classifier with the weights at `weights`, on the bundled digits' fixed split. The
    /// real digits' statistics come from the file beside the weights
    /// ([`real_features`](crate::eval::real_features)) while it matches them, and are fitted
    /// afresh otherwise.
    pub fn with_weights(gpu: &Gpu, weights: &Path) -> Result<Judge> {
        let (train, held_out) = idx::bundled()?.split(TRAIN_PART)?;
        let classifier = Classifier::load(gpu, weights)?;
        let provenance = Provenance::of(weights, &train)?;
        let real = match real_features::load(&real_features::path_for(weights), &provenance)? {
            Some(real) => real,
            None => real_features::fit(&classifier, &train)?,
        };
        Judge::with_real(gpu, classifier, real, &train, &held_out)
    }

    /// The shipped judge, or `None` when the classifier weights are not in the checkout.
    pub fn shipped(gpu: &Gpu) -> Result<Option<Judge>> {
        if !crate::eval::classifier::bundled_weights().exists() {
            return Ok(None);
        }
        Judge::bundled(gpu).map(Some)
    }

    /// Judges generator `g` (e.g. a trainer's [`sampling_generator`](crate::gan::GanRun::sampling_generator))
    /// on `n` samples from a fixed seed, so that measurements along a run are comparable.
    /// Log the result with the run's `add_quality(report.at(step))`.
    pub fn measure(
        &self,
        g: &Network,
        recipe: &Recipe,
        n: usize,
        with_parzen: bool,
    ) -> Result<Report> {
        self.judge_generator(g, recipe, n, MEASURE_SEED, with_parzen)
    }

    /// As [`Judge::measure`], with the sliced Wasserstein distance to the real training
    /// digits too ([`Report::swd`], in [`Report::at`]'s point), on the same samples.
    pub fn measure_with_swd(
        &self,
        g: &Network,
        recipe: &Recipe,
        n: usize,
        with_parzen: bool,
        swd: &SwdOptions,
    ) -> Result<Report> {
        let images = self.generated(g, recipe, n, MEASURE_SEED)?;
        let mut report = self.judge(&images, with_parzen)?;
        report.swd = Some(self.swd(&images, swd)?);
        Ok(report)
    }

    /// A judge from a classifier, its training digits and held-out digits.
    pub fn new(
        gpu: &Gpu,
        classifier: Classifier,
        train: &Digits,
        held_out: &Digits,
    ) -> Result<Judge> {
        check_enough(train)?;
        let real = real_features::fit(&classifier, train)?;
        Judge::with_real(gpu, classifier, real, train, held_out)
    }

    /// A judge whose real training digits' features are already fitted (`real`).
    fn with_real(
        gpu: &Gpu,
        classifier: Classifier,
        real: Gaussian,
        train: &Digits,
        held_out: &Digits,
    ) -> Result<Judge> {
        check_enough(train)?;
        let (fit, validation) = train.split(train.len() - PARZEN_VALIDATION)?;
        Ok(Judge {
            gpu: gpu.clone(),
            classifier,
            real,
            train: fit.images.to_f32(0.0, 1.0),
            validation: validation.images.to_f32(0.0, 1.0),
            held_out: held_out.images.to_f32(0.0, 1.0),
        })
    }

    /// The Gaussian of the real training digits' features that every FID compares with.
    pub fn real_features(&self) -> &Gaussian {
        &self.real
    }

    /// The classifier.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Every figure for `images` (`[n, 28·28]`, pixels in [0, 1]); Parzen only if asked,
    /// since it is the slow one.
    pub fn judge(&self, images: &[f32], with_parzen: bool) -> Result<Report> {
        let out = self.classifier.classify(images)?;
        let parzen = if with_parzen {
            Some(parzen(
                &self.gpu,
                images,
                &self.validation,
                &self.held_out,
                SIDE * SIDE,
                &default_sigmas(),
            )?)
        } else {
            None
        };
        Ok(Report {
            n: out.n,
            fid: frechet_distance(&Gaussian::fit(&out.features, FEATURES)?, &self.real)?,
            score: inception_score(&out.probs, CLASSES)?,
            coverage: Coverage::from_probs(&out.probs, CLASSES)?,
            parzen,
            swd: None,
        })
    }

    /// The sliced Wasserstein distance of `images` (`[n, 28·28]`, pixels in [0, 1]) to the
    /// real training digits (the first 9,000 bundled ones); record it in [`Report::swd`].
    pub fn swd(&self, images: &[f32], options: &SwdOptions) -> Result<SwdReport> {
        let real = [self.train.as_slice(), &self.validation].concat();
        swd(&self.gpu, images, &real, SIDE, options)
    }

    /// The held-out real digits (`[n, 28·28]`, pixels in [0, 1]), the reference row's images.
    pub fn held_out(&self) -> &[f32] {
        &self.held_out
    }

    /// Every figure for `n` samples of generator `g` trained by `recipe`, from latent vectors
    /// drawn with `seed`.
    pub fn judge_generator(
        &self,
        g: &Network,
        recipe: &Recipe,
        n: usize,
        seed: u64,
        with_parzen: bool,
    ) -> Result<Report> {
        self.judge(&self.generated(g, recipe, n, seed)?, with_parzen)
    }

    /// `n` samples of `g` from latent vectors drawn with `seed`, as the judge sees them.
    fn generated(&self, g: &Network, recipe: &Recipe, n: usize, seed: u64) -> Result<Vec<f32>> {
        // A conditional generator draws every class in turn.
        let z = noise(recipe.noise, n * recipe.nz(), seed);
        let x = generate_batched(&self.gpu, g, &recipe.inputs(&z, &[])?, recipe.batch)?;
        Ok(to_judged_pixels(&x, recipe.side, recipe.range))
    }

    /// The reference row: the held-out real digits judged as if they were samples (Parzen's
    /// density fitted to the real training digits instead).
    pub fn real_reference(&self, with_parzen: bool) -> Result<Report> {
        let mut report = self.judge(&self.held_out, false)?;
        if with_parzen {
            report.parzen = Some(parzen(
                &self.gpu,
                &self.train,
                &self.validation,
                &self.held_out,
                SIDE * SIDE,
                &default_sigmas(),
            )?);
        }
        Ok(report)
    }
}

/// Maps generator output in `range` to [0, 1] and, for other sizes than 28×28 (dcgan64),
/// resizes bilinearly to the classifier's 28×28.
pub fn to_judged_pixels(images: &[f32], side: usize, range: (f32, f32)) -> Vec<f32> {
    let scale = 1.0 / (range.1 - range.0);
    let unit = |v: f32| ((v - range.0) * scale).clamp(0.0, 1.0);
    if side == SIDE {
        return images.iter().map(|&v| unit(v)).collect();
    }
    images
        .chunks_exact(side * side)
        .flat_map(|img| {
            let src: Vec<f64> = img.iter().map(|&v| unit(v) as f64).collect();
            crate::data::resize::bilinear(&src, side, side, SIDE, SIDE)
                .into_iter()
                .map(|v| v as f32)
        })
        .collect()
}
