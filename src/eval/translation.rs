//! Translated digits in numbers: whether the classifier still reads the source digit's label,
//! how far the outputs are from their targets (L1, PSNR), how much ink they carry against the
//! targets', and the FID of the outputs to the real test digits.

use crate::data::idx::Digits;
use crate::eval::classifier::{Classifier, FEATURES, SIDE};
use crate::eval::frechet::{frechet_distance, Gaussian};
use crate::{Error, Gpu, Result};

/// The figures of one set of translations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TranslationReport {
    /// Images judged.
    pub n: usize,
    /// The fraction the classifier labels as their source digit.
    pub agreement: f64,
    /// Mean |output − target| per pixel, pixels in [0, 1].
    pub l1: f64,
    /// Mean over images of 10·log10(1 / MSE) in dB, pixels in [0, 1] (an exact copy counts
    /// as 100 dB).
    pub psnr: f64,
    /// Mean pixel value of the outputs (their ink).
    pub ink: f64,
    /// The same of the targets.
    pub target_ink: f64,
    /// Fréchet distance of the outputs' classifier features to the real test digits'.
    pub fid: f64,
}

impl TranslationReport {
    /// The outputs' ink relative to the targets': 0 when they carry as much.
    pub fn ink_error(&self) -> f64 {
        (self.ink - self.target_ink) / self.target_ink.max(1e-12)
    }

    /// One line for a log.
    pub fn summary(&self) -> String {
        format!(
            "label agreement {:.1} %, L1 {:.4}, PSNR {:.2} dB, ink {:.4} (target {:.4}, {:+.1} %), FID {:.2} (n = {})",
            100.0 * self.agreement,
            self.l1,
            self.psnr,
            self.ink,
            self.target_ink,
            100.0 * self.ink_error(),
            self.fid,
            self.n
        )
    }

    /// As one JSON object, labelled.
    pub fn json(&self, label: &str) -> String {
        format!(
            "{{\"label\":{label:?},\"n\":{},\"agreement\":{:.5},\"l1\":{:.5},\"psnr\":{:.3},\"ink\":{:.5},\"target_ink\":{:.5},\"fid\":{:.4}}}",
            self.n, self.agreement, self.l1, self.psnr, self.ink, self.target_ink, self.fid
        )
    }
}

/// The classifier and the real test digits translations are compared with.
pub struct TranslationJudge {
    classifier: Classifier,
    test: Gaussian,
}

impl TranslationJudge {
    /// A judge with `classifier`, comparing features with those of the real digits `test`.
    pub fn new(classifier: Classifier, test: &Digits) -> Result<TranslationJudge> {
        let features = classifier.classify_digits(test)?.features;
        Ok(TranslationJudge {
            test: Gaussian::fit(&features, FEATURES)?,
            classifier,
        })
    }

    /// The shipped classifier and the bundled test digits (the last 1,000).
    pub fn bundled(gpu: &Gpu) -> Result<TranslationJudge> {
        let (_, test) = crate::data::idx::bundled()?.split(crate::eval::classifier::TRAIN_PART)?;
        TranslationJudge::new(Classifier::bundled(gpu)?, &test)
    }

    /// The classifier.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Judges `outputs` against `targets` (both `[n, 28·28]`, pixels in [0, 1]) and the
    /// labels of the digits they were made from.
    pub fn judge(
        &self,
        outputs: &[f32],
        targets: &[f32],
        labels: &[u8],
    ) -> Result<TranslationReport> {
        let size = SIDE * SIDE;
        let n = outputs.len() / size;
        if outputs.len() != targets.len() || n * size != outputs.len() || labels.len() != n {
            return Err(Error::shape(
                "translation judge",
                format!(
                    "{} output values, {} target values and {} labels are not the same number of {SIDE}×{SIDE} images",
                    outputs.len(),
                    targets.len(),
                    labels.len()
                ),
            ));
        }
        let out = self.classifier.classify(outputs)?;
        let (l1, psnr) = distances(outputs, targets, size);
        let mean = |v: &[f32]| v.iter().map(|&p| p as f64).sum::<f64>() / v.len() as f64;
        Ok(TranslationReport {
            n,
            agreement: out.accuracy(labels),
            l1,
            psnr,
            ink: mean(outputs),
            target_ink: mean(targets),
            fid: frechet_distance(&Gaussian::fit(&out.features, FEATURES)?, &self.test)?,
        })
    }
}

/// The PSNR of an exact copy, where the MSE is 0.
const EXACT_PSNR: f64 = 100.0;

/// Mean |a − b| per pixel, and the mean over images of each image's PSNR.
pub fn distances(a: &[f32], b: &[f32], size: usize) -> (f64, f64) {
    let (mut abs, mut psnr) = (0.0, 0.0);
    for (x, y) in a.chunks_exact(size).zip(b.chunks_exact(size)) {
        let mut sq = 0.0;
        for (&p, &q) in x.iter().zip(y) {
            let d = (p - q) as f64;
            abs += d.abs();
            sq += d * d;
        }
        let mse = sq / size as f64;
        psnr += if mse > 0.0 {
            (10.0 * (1.0 / mse).log10()).min(EXACT_PSNR)
        } else {
            EXACT_PSNR
        };
    }
    let n = (a.len() / size).max(1) as f64;
    (abs / (n * size as f64), psnr / n)
}

#[cfg(test)]
mod tests {
    use super::distances;

    #[test]
    fn distances_of_known_images() {
        // Two 2-pixel images: the first off by 0.1 everywhere, the second exact.
        let a = [0.5, 0.5, 1.0, 0.0];
        let b = [0.6, 0.4, 1.0, 0.0];
        let (l1, psnr) = distances(&a, &b, 2);
        assert!((l1 - 0.05).abs() < 1e-7, "{l1}");
        // First image: MSE 0.01 → 20 dB; second exact → 100 dB.
        assert!((psnr - 60.0).abs() < 1e-4, "{psnr}");
    }
}
