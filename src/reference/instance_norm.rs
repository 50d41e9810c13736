//! Instance normalisation in f64 on `[batch, channels, spatial]`: each (sample, channel)
//! plane normalised by its mean and (biased) variance, then `γ_c·x̂ + β_c`; and the backward.

/// Mean and `1/sqrt(var + eps)` of each plane.
fn stats(x: &[f64], planes: usize, spatial: usize, eps: f64) -> Vec<(f64, f64)> {
    (0..planes)
        .map(|p| {
            let v = &x[p * spatial..(p + 1) * spatial];
            let mean = v.iter().sum::<f64>() / spatial as f64;
            let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / spatial as f64;
            (mean, 1.0 / (var + eps).sqrt())
        })
        .collect()
}

/// `y = γ_c·(x − μ)/sqrt(σ² + eps) + β_c` per plane.
pub fn forward(
    x: &[f64],
    (gamma, beta): (&[f64], &[f64]),
    (batch, channels, spatial): (usize, usize, usize),
    eps: f64,
) -> Vec<f64> {
    let st = stats(x, batch * channels, spatial, eps);
    (0..x.len())
        .map(|i| {
            let p = i / spatial;
            let c = p % channels;
            gamma[c] * (x[i] - st[p].0) * st[p].1 + beta[c]
        })
        .collect()
}

/// `(dx, dγ, dβ)` for `dy` at `x`: with g = γ_c·dy, `dx = r·(g − mean g − x̂·mean(g·x̂))`
/// per plane; `dγ_c = Σ dy·x̂`, `dβ_c = Σ dy` over samples and positions.
pub fn backward(
    x: &[f64],
    dy: &[f64],
    gamma: &[f64],
    (batch, channels, spatial): (usize, usize, usize),
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let st = stats(x, batch * channels, spatial, eps);
    let (mut dx, mut dgamma, mut dbeta) =
        (vec![0.0; x.len()], vec![0.0; channels], vec![0.0; channels]);
    let n = spatial as f64;
    for (p, &(mean, r)) in st.iter().enumerate() {
        let c = p % channels;
        let at = p * spatial..(p + 1) * spatial;
        let xhat: Vec<f64> = x[at.clone()].iter().map(|v| (v - mean) * r).collect();
        let g: Vec<f64> = dy[at.clone()].iter().map(|d| gamma[c] * d).collect();
        let sum_g = g.iter().sum::<f64>();
        let sum_gx = g.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>();
        for (k, i) in at.enumerate() {
            dx[i] = r * (g[k] - sum_g / n - xhat[k] * sum_gx / n);
            dgamma[c] += dy[i] * xhat[k];
            dbeta[c] += dy[i];
        }
    }
    (dx, dgamma, dbeta)
}
