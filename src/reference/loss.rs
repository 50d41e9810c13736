//! Binary cross-entropy on logits.

/// Mean BCE of `logits` against `targets`, in the overflow-safe form.
pub fn bce_logits(logits: &[f64], targets: &[f64]) -> f64 {
    let n = logits.len() as f64;
    logits
        .iter()
        .zip(targets)
        .map(|(&x, &t)| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p())
        .sum::<f64>()
        / n
}

/// d(mean BCE)/d logits.
pub fn bce_logits_backward(logits: &[f64], targets: &[f64]) -> Vec<f64> {
    let n = logits.len() as f64;
    logits
        .iter()
        .zip(targets)
        .map(|(&x, &t)| (1.0 / (1.0 + (-x).exp()) - t) / n)
        .collect()
}
