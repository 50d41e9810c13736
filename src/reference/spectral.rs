//! Spectral normalisation in f64: a power iteration, the weight divided by its estimated
//! largest singular value, and the gradient through that estimate with u and v held constant.

fn normalise(x: Vec<f64>) -> Vec<f64> {
    let n = x.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    x.into_iter().map(|v| v / n).collect()
}

/// One power iteration of `w` (`[rows, cols]`) from `u`: `(u', v', σ)` with v' = Wᵀu/‖Wᵀu‖,
/// u' = Wv'/‖Wv'‖ and σ = u'ᵀWv'.
pub fn power(w: &[f64], rows: usize, u: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
    let cols = w.len() / rows;
    let v = normalise(
        (0..cols)
            .map(|j| (0..rows).map(|i| w[i * cols + j] * u[i]).sum())
            .collect(),
    );
    let wv: Vec<f64> = (0..rows)
        .map(|i| (0..cols).map(|j| w[i * cols + j] * v[j]).sum())
        .collect();
    let u = normalise(wv.clone());
    let sigma = u.iter().zip(&wv).map(|(a, b)| a * b).sum();
    (u, v, sigma)
}

/// σ = uᵀWv for fixed u and v.
pub fn sigma(w: &[f64], u: &[f64], v: &[f64]) -> f64 {
    let cols = v.len();
    w.iter()
        .enumerate()
        .map(|(k, x)| u[k / cols] * x * v[k % cols])
        .sum()
}

/// The gradient of W from `g`, the gradient at W/σ(W) with σ(W) = uᵀWv (u, v fixed).
pub fn backward(w: &[f64], g: &[f64], u: &[f64], v: &[f64]) -> Vec<f64> {
    let cols = v.len();
    let s = sigma(w, u, v);
    let dot: f64 = g.iter().zip(w).map(|(a, b)| a * b / s).sum();
    g.iter()
        .enumerate()
        .map(|(k, gk)| (gk - dot * u[k / cols] * v[k % cols]) / s)
        .collect()
}
