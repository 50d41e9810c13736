//! The Inception Score of Salimans et al. 2016, computed from our classifier's probabilities.

use crate::{Error, Result};

/// How far a row's sum may stray from 1: f32 softmax rounding is far below this, logits or
/// unnormalised scores far above.
const ROW_SUM_TOLERANCE: f64 = 1e-3;

/// exp(E_x KL(p(y|x) ‖ p(y))) over `probs` rows `[n, classes]`, each row a softmax;
/// p(y) is the mean row. Between 1 (every row the same) and `classes` (confident and
/// evenly spread).
pub fn inception_score(probs: &[f32], classes: usize) -> Result<f64> {
    let rows = prob_rows("inception_score", probs, classes)?;
    let n = rows.len() as f64;
    let mut marginal = vec![0.0f64; classes];
    for row in &rows {
        for (m, p) in marginal.iter_mut().zip(row) {
            *m += p / n;
        }
    }
    // 0·ln 0 = 0; where p > 0 the marginal is positive too.
    let kl: f64 = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&marginal)
                .filter(|(&p, _)| p > 0.0)
                .map(|(&p, &m)| p * (p.ln() - m.ln()))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n;
    // KL is ≥ 0 and ≤ ln(classes); rounding may step just outside.
    Ok(kl.exp().clamp(1.0, classes as f64))
}

/// Checks `probs` as rows of `classes` probabilities and returns them in f64, each divided by
/// its sum so rounding in the classifier does not move the metrics.
pub(crate) fn prob_rows(op: &str, probs: &[f32], classes: usize) -> Result<Vec<Vec<f64>>> {
    if classes == 0 {
        return Err(Error::Config(format!("{op}: classes must be at least 1")));
    }
    if probs.is_empty() || !probs.len().is_multiple_of(classes) {
        return Err(Error::shape(
            op,
            format!(
                "{} values are not a positive whole number of rows of {classes} classes",
                probs.len()
            ),
        ));
    }
    probs
        .chunks_exact(classes)
        .enumerate()
        .map(|(r, row)| {
            if let Some(p) = row.iter().find(|p| !(p.is_finite() && **p >= 0.0)) {
                return Err(Error::Config(format!(
                    "{op}: row {r} has {p}, not a probability"
                )));
            }
            let sum: f64 = row.iter().map(|&p| p as f64).sum();
            if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
                return Err(Error::Config(format!(
                    "{op}: row {r} sums to {sum}, not 1 (pass softmax probabilities, not logits)"
                )));
            }
            Ok(row.iter().map(|&p| p as f64 / sum).collect())
        })
        .collect()
}
