//! Minibatch standard deviation (Karras et al. 2018) in f64: `x` `[batch, channels, spatial]`
//! as described by [`Layout`], `y` `[batch, channels + 1, spatial]` (see [`output`]).

use super::layout::Layout;

/// The layout of `y`: one channel more than `x`.
pub fn output(x: &Layout) -> Layout {
    Layout::new(x.batch, x.channels + 1, x.spatial)
}

/// Per column `j = (c, s)`: the batch mean and `σ_j = sqrt(biased var_j + eps)` (two passes).
pub fn column_stats(x: &[f64], g: &Layout, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let (k, m) = (g.per_sample(), g.batch as f64);
    let mut mean = vec![0.0; k];
    for n in 0..g.batch {
        for j in 0..k {
            mean[j] += x[n * k + j];
        }
    }
    mean.iter_mut().for_each(|v| *v /= m);
    let mut var = vec![0.0; k];
    for n in 0..g.batch {
        for j in 0..k {
            var[j] += (x[n * k + j] - mean[j]).powi(2);
        }
    }
    let sigma = var.iter().map(|v| (v / m + eps).sqrt()).collect();
    (mean, sigma)
}

/// The feature `s = (1/K)·Σ_j σ_j`.
pub fn feature(x: &[f64], g: &Layout, eps: f64) -> f64 {
    let (_, sigma) = column_stats(x, g, eps);
    sigma.iter().sum::<f64>() / g.per_sample() as f64
}

/// Forward: each sample's channels, then one channel of `s`.
pub fn forward(x: &[f64], g: &Layout, eps: f64) -> Vec<f64> {
    let s = feature(x, g, eps);
    let k = g.per_sample();
    let mut y = Vec::with_capacity(output(g).len());
    for n in 0..g.batch {
        y.extend_from_slice(&x[n * k..(n + 1) * k]);
        y.extend(std::iter::repeat_n(s, g.spatial));
    }
    y
}

/// Backward: `dx[n, j] = dy[n, j] + G·(x[n, j] − mean_j)/(N·K·σ_j)` with `G` the sum of the
/// extra channel's gradient. The mean's own derivative drops out: `Σ_n (x[n, j] − mean_j) = 0`.
pub fn backward(x: &[f64], dy: &[f64], g: &Layout, eps: f64) -> Vec<f64> {
    let (mean, sigma) = column_stats(x, g, eps);
    let k = g.per_sample();
    let row = output(g).per_sample();
    let gsum: f64 = (0..g.batch)
        .flat_map(|n| &dy[n * row + k..(n + 1) * row])
        .sum();
    let scale = gsum / (g.batch * k) as f64;
    let mut dx = vec![0.0; g.len()];
    for n in 0..g.batch {
        for j in 0..k {
            dx[n * k + j] = dy[n * row + j] + scale * (x[n * k + j] - mean[j]) / sigma[j];
        }
    }
    dx
}

/// The forward-mode derivative along `xdot`: `ẏ` is `ẋ` with `ṡ = Σ_{n,j} ẋ[n, j]·d/(N·K·σ_j)`
/// (`d = x − mean_j`, the backward's `∂s/∂x`) in the extra channel.
pub fn tangent(x: &[f64], xdot: &[f64], g: &Layout, eps: f64) -> Vec<f64> {
    let (mean, sigma) = column_stats(x, g, eps);
    let k = g.per_sample();
    let nk = (g.batch * k) as f64;
    let mut sdot = 0.0;
    for n in 0..g.batch {
        for j in 0..k {
            sdot += xdot[n * k + j] * (x[n * k + j] - mean[j]) / (nk * sigma[j]);
        }
    }
    let mut ydot = Vec::with_capacity(output(g).len());
    for n in 0..g.batch {
        ydot.extend_from_slice(&xdot[n * k..(n + 1) * k]);
        ydot.extend(std::iter::repeat_n(sdot, g.spatial));
    }
    ydot
}

/// The tangent's reverse into the primal input: `∂⟨dydot, ẏ⟩/∂x` at fixed `xdot`. Only `ṡ`
/// depends on x; with `Ġ` the sum of `dydot`'s extra channel, `ė = ẋ − mean_n ẋ` and
/// `σ̇_j = Σ_n d·ẋ/(N·σ_j)`, it is `Ġ/(N·K·σ_j)·(ė[n, j] − σ̇_j·d[n, j]/σ_j)`.
pub fn curvature(x: &[f64], xdot: &[f64], dydot: &[f64], g: &Layout, eps: f64) -> Vec<f64> {
    let (mean, sigma) = column_stats(x, g, eps);
    let k = g.per_sample();
    let m = g.batch as f64;
    let row = output(g).per_sample();
    let gsum: f64 = (0..g.batch)
        .flat_map(|n| &dydot[n * row + k..(n + 1) * row])
        .sum();
    let mut c = vec![0.0; g.len()];
    for j in 0..k {
        let col = |v: &[f64], n: usize| v[n * k + j];
        let xdot_mean = (0..g.batch).map(|n| col(xdot, n)).sum::<f64>() / m;
        let sigma_dot = (0..g.batch)
            .map(|n| (col(x, n) - mean[j]) * col(xdot, n))
            .sum::<f64>()
            / (m * sigma[j]);
        for n in 0..g.batch {
            let d = col(x, n) - mean[j];
            c[n * k + j] = gsum / (m * k as f64 * sigma[j])
                * (col(xdot, n) - xdot_mean - sigma_dot * d / sigma[j]);
        }
    }
    c
}
