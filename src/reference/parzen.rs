//! Parzen-window (Gaussian kernel density) log-likelihood, from the differences themselves.

/// log p(x) for each `dim`-sized row x of `queries` under the density that puts an isotropic
/// Gaussian of standard deviation `sigma` on each row s_j of `samples`:
/// logsumexp_j(−‖x − s_j‖² / (2σ²)) − ln n − (dim/2)·ln(2πσ²).
pub fn log_likelihood(samples: &[f64], queries: &[f64], dim: usize, sigma: f64) -> Vec<f64> {
    let n = samples.len() / dim;
    let c = 1.0 / (2.0 * sigma * sigma);
    let constant =
        (n as f64).ln() + dim as f64 / 2.0 * (2.0 * std::f64::consts::PI * sigma * sigma).ln();
    queries
        .chunks_exact(dim)
        .map(|x| {
            let exps: Vec<f64> = samples
                .chunks_exact(dim)
                .map(|s| -x.iter().zip(s).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() * c)
                .collect();
            let max = exps.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            max + exps.iter().map(|e| (e - max).exp()).sum::<f64>().ln() - constant
        })
        .collect()
}
