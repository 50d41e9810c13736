//! Pixelwise feature normalisation in f64 on `[batch, channels, spatial]`: each position's
//! channel vector divided by its root mean square (plus eps), and the backward.

/// `y_c = x_c / sqrt(mean_k x_k² + eps)` at every (sample, position).
pub fn forward(x: &[f64], batch: usize, channels: usize, spatial: usize, eps: f64) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for n in 0..batch {
        for s in 0..spatial {
            let at = |c: usize| (n * channels + c) * spatial + s;
            let ms = (0..channels).map(|c| x[at(c)] * x[at(c)]).sum::<f64>() / channels as f64;
            let r = 1.0 / (ms + eps).sqrt();
            for c in 0..channels {
                y[at(c)] = x[at(c)] * r;
            }
        }
    }
    y
}

/// `dx` for `dy` at `x`: `dx_c = r·dy_c − x_c·r³·mean_k(dy_k·x_k)` with r as in [`forward`].
pub fn backward(
    x: &[f64],
    dy: &[f64],
    batch: usize,
    channels: usize,
    spatial: usize,
    eps: f64,
) -> Vec<f64> {
    let mut dx = vec![0.0; x.len()];
    for n in 0..batch {
        for s in 0..spatial {
            let at = |c: usize| (n * channels + c) * spatial + s;
            let ms = (0..channels).map(|c| x[at(c)] * x[at(c)]).sum::<f64>() / channels as f64;
            let r = 1.0 / (ms + eps).sqrt();
            let dot = (0..channels).map(|c| dy[at(c)] * x[at(c)]).sum::<f64>() / channels as f64;
            for c in 0..channels {
                dx[at(c)] = r * dy[at(c)] - x[at(c)] * r * r * r * dot;
            }
        }
    }
    dx
}
