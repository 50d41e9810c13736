//! Batch normalisation (training and eval, PyTorch semantics) and channel concatenation, in
//! f64. `x` is `[batch, channels, spatial]` as described by [`Layout`].

use super::layout::Layout;

/// Calls `f(c, index)` for every value of every channel, channel by channel.
fn each(g: &Layout, mut f: impl FnMut(usize, usize)) {
    for c in 0..g.channels {
        for n in 0..g.batch {
            for s in 0..g.spatial {
                f(c, g.at(n, c, s));
            }
        }
    }
}

/// Per-channel batch mean and biased variance (two passes).
pub fn moments(x: &[f64], g: &Layout) -> (Vec<f64>, Vec<f64>) {
    let m = g.per_channel() as f64;
    let mut mean = vec![0.0; g.channels];
    each(g, |c, i| mean[c] += x[i]);
    mean.iter_mut().for_each(|v| *v /= m);
    let mut var = vec![0.0; g.channels];
    each(g, |c, i| var[c] += (x[i] - mean[c]).powi(2));
    var.iter_mut().for_each(|v| *v /= m);
    (mean, var)
}

/// Training forward: `(y, mean, biased var)` with
/// `y = γ_c·(x − mean_c)/sqrt(var_c + eps) + β_c`.
pub fn forward(
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    g: &Layout,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mean, var) = moments(x, g);
    let y = normalise(x, gamma, beta, &mean, &var, g, eps);
    (y, mean, var)
}

/// Eval forward with the running statistics.
pub fn eval_forward(
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    running_mean: &[f64],
    running_var: &[f64],
    g: &Layout,
    eps: f64,
) -> Vec<f64> {
    normalise(x, gamma, beta, running_mean, running_var, g, eps)
}

fn normalise(
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    mean: &[f64],
    var: &[f64],
    g: &Layout,
    eps: f64,
) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    each(g, |c, i| {
        y[i] = gamma[c] * (x[i] - mean[c]) / (var[c] + eps).sqrt() + beta[c]
    });
    y
}

/// Backward of the training forward: `(dx, dgamma, dbeta)` with x̂ = (x − mean)·rstd,
/// `dβ = Σ dy`, `dγ = Σ dy·x̂`, `dx = γ·rstd/M · (M·dy − Σdy − x̂·Σ dy·x̂)`.
pub fn backward(
    x: &[f64],
    dy: &[f64],
    gamma: &[f64],
    g: &Layout,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let m = g.per_channel() as f64;
    let (mean, var) = moments(x, g);
    let rstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let xhat = |c: usize, i: usize| (x[i] - mean[c]) * rstd[c];
    let mut dgamma = vec![0.0; g.channels];
    let mut dbeta = vec![0.0; g.channels];
    each(g, |c, i| {
        dbeta[c] += dy[i];
        dgamma[c] += dy[i] * xhat(c, i);
    });
    let mut dx = vec![0.0; x.len()];
    each(g, |c, i| {
        dx[i] = gamma[c] * rstd[c] / m * (m * dy[i] - dbeta[c] - xhat(c, i) * dgamma[c]);
    });
    (dx, dgamma, dbeta)
}

/// PyTorch's running-statistics update after a training forward over `m` values per
/// channel: `running = (1 − momentum)·running + momentum·stat`, with the unbiased variance
/// `var·m/(m − 1)` (plain `var` when `m = 1`).
pub fn running_update(
    rm: &mut [f64],
    rv: &mut [f64],
    mean: &[f64],
    var: &[f64],
    m: usize,
    momentum: f64,
) {
    let bessel = if m > 1 {
        m as f64 / (m as f64 - 1.0)
    } else {
        1.0
    };
    for c in 0..rm.len() {
        rm[c] = (1.0 - momentum) * rm[c] + momentum * mean[c];
        rv[c] = (1.0 - momentum) * rv[c] + momentum * var[c] * bessel;
    }
}

/// `[a | b]` along channels: `a` `[batch, ca, spatial]`, `b` `[batch, cb, spatial]`.
pub fn concat_channels(a: &[f64], b: &[f64], batch: usize, spatial: usize) -> Vec<f64> {
    let (ca, cb) = (a.len() / (batch * spatial), b.len() / (batch * spatial));
    let mut out = vec![0.0; a.len() + b.len()];
    for n in 0..batch {
        for c in 0..ca + cb {
            for s in 0..spatial {
                out[(n * (ca + cb) + c) * spatial + s] = if c < ca {
                    a[(n * ca + c) * spatial + s]
                } else {
                    b[(n * cb + c - ca) * spatial + s]
                };
            }
        }
    }
    out
}

/// The backward of [`concat_channels`]: the first `ca` channels of each sample of `dout`,
/// and the rest.
pub fn split_channels(
    dout: &[f64],
    ca: usize,
    batch: usize,
    spatial: usize,
) -> (Vec<f64>, Vec<f64>) {
    let c = dout.len() / (batch * spatial);
    let cb = c - ca;
    let mut da = vec![0.0; batch * ca * spatial];
    let mut db = vec![0.0; batch * cb * spatial];
    for n in 0..batch {
        for ch in 0..c {
            for s in 0..spatial {
                let v = dout[(n * c + ch) * spatial + s];
                if ch < ca {
                    da[(n * ca + ch) * spatial + s] = v;
                } else {
                    db[(n * cb + ch - ca) * spatial + s] = v;
                }
            }
        }
    }
    (da, db)
}
