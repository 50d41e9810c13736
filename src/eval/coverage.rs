//! Mode coverage: which classes the generator draws, judged by the classifier's arg-max.

use super::score::prob_rows;
use crate::Result;

/// How generated samples spread over the classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Coverage {
    /// Samples per arg-max class.
    pub histogram: Vec<usize>,
    /// Classes holding at least half their uniform share (n / classes / 2) of the samples.
    pub covered: usize,
    /// Mean over samples of the largest class probability.
    pub mean_confidence: f64,
}

impl Coverage {
    /// From `probs` rows `[n, classes]`, each a softmax. Ties go to the lower class.
    pub fn from_probs(probs: &[f32], classes: usize) -> Result<Coverage> {
        let rows = prob_rows("Coverage::from_probs", probs, classes)?;
        let n = rows.len();
        let mut histogram = vec![0usize; classes];
        let mut confidence = 0.0;
        for row in &rows {
            let mut best = 0;
            for (c, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = c;
                }
            }
            histogram[best] += 1;
            confidence += row[best];
        }
        // 2·count ≥ n/classes, in integers: no rounding at the threshold.
        let covered = histogram.iter().filter(|&&h| 2 * h * classes >= n).count();
        Ok(Coverage {
            histogram,
            covered,
            mean_confidence: confidence / n as f64,
        })
    }
}
