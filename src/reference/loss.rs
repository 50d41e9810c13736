//! Binary cross-entropy and the hinge loss on logits, the least-squares loss, and the L1
//! distance.

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

/// Mean hinge loss of D: t·relu(1 − x) + (1 − t)·relu(1 + x) per sample.
pub fn hinge_logits(logits: &[f64], targets: &[f64]) -> f64 {
    let n = logits.len() as f64;
    logits
        .iter()
        .zip(targets)
        .map(|(&x, &t)| t * (1.0 - x).max(0.0) + (1.0 - t) * (1.0 + x).max(0.0))
        .sum::<f64>()
        / n
}

/// d(mean hinge)/d logits, with relu'(0) = 0: a logit exactly on its margin gets none.
pub fn hinge_logits_backward(logits: &[f64], targets: &[f64]) -> Vec<f64> {
    let n = logits.len() as f64;
    let step = |c: bool| if c { 1.0 } else { 0.0 };
    logits
        .iter()
        .zip(targets)
        .map(|(&x, &t)| (-t * step(x < 1.0) + (1.0 - t) * step(x > -1.0)) / n)
        .collect()
}

/// G's hinge loss: −mean(logits).
pub fn hinge_generator(logits: &[f64]) -> f64 {
    -logits.iter().sum::<f64>() / logits.len() as f64
}

/// d(−mean logits)/d logits.
pub fn hinge_generator_backward(logits: &[f64]) -> Vec<f64> {
    vec![-1.0 / logits.len() as f64; logits.len()]
}

/// Mean least-squares loss, (x − t)² per sample.
pub fn least_squares(outputs: &[f64], targets: &[f64]) -> f64 {
    let n = outputs.len() as f64;
    outputs
        .iter()
        .zip(targets)
        .map(|(&x, &t)| (x - t) * (x - t))
        .sum::<f64>()
        / n
}

/// d(mean least squares)/d outputs.
pub fn least_squares_backward(outputs: &[f64], targets: &[f64]) -> Vec<f64> {
    let n = outputs.len() as f64;
    outputs
        .iter()
        .zip(targets)
        .map(|(&x, &t)| 2.0 * (x - t) / n)
        .collect()
}

/// Mean |a − b|.
pub fn l1(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

/// d(mean |a − b|)/da, with sign(0) = 0 (the subgradient PyTorch takes).
pub fn l1_backward(a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = a.len() as f64;
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = x - y;
            if d > 0.0 {
                1.0 / n
            } else if d < 0.0 {
                -1.0 / n
            } else {
                0.0
            }
        })
        .collect()
}

/// Mean Wasserstein critic loss, (1 − 2t)·x per sample: −x for a real target, x for a fake.
pub fn wasserstein(outputs: &[f64], targets: &[f64]) -> f64 {
    let n = outputs.len() as f64;
    outputs
        .iter()
        .zip(targets)
        .map(|(&x, &t)| (1.0 - 2.0 * t) * x)
        .sum::<f64>()
        / n
}

/// d(mean Wasserstein loss)/d outputs.
pub fn wasserstein_backward(outputs: &[f64], targets: &[f64]) -> Vec<f64> {
    let n = outputs.len() as f64;
    targets.iter().map(|&t| (1.0 - 2.0 * t) / n).collect()
}
