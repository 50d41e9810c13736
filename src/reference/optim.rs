//! Optimiser updates, one parameter vector at a time.

/// One Adam update at step `t` (1-based), PyTorch's form.
#[allow(clippy::too_many_arguments)]
pub fn adam(
    p: &mut [f64],
    g: &[f64],
    m: &mut [f64],
    v: &mut [f64],
    t: u32,
    lr: f64,
    b1: f64,
    b2: f64,
    eps: f64,
) {
    let bc1 = 1.0 - b1.powi(t as i32);
    let bc2 = 1.0 - b2.powi(t as i32);
    for i in 0..p.len() {
        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
        p[i] -= lr / bc1 * m[i] / (v[i].sqrt() / bc2.sqrt() + eps);
    }
}

/// The rate of Adam with a linear decay at update `t` (0-based): `lr` before update `from`,
/// then falling linearly to 0 at update `to` and staying there.
pub fn linear_decay(t: u32, lr: f64, from: u32, to: u32) -> f64 {
    if t < from {
        lr
    } else {
        lr * (to.saturating_sub(t)) as f64 / (to - from) as f64
    }
}

/// The learning rate and momentum of SGD at update `t` (0-based).
#[allow(clippy::too_many_arguments)]
pub fn sgd_schedule(
    t: u32,
    lr: f64,
    decay: f64,
    min_lr: f64,
    mom0: f64,
    mom1: f64,
    start: u32,
    end: u32,
) -> (f64, f64) {
    let rate = (lr / decay.powi(t as i32)).max(min_lr);
    let frac = if end > start {
        ((t as f64 - start as f64) / (end - start) as f64).clamp(0.0, 1.0)
    } else if t < start {
        0.0
    } else {
        1.0
    };
    (rate, mom0 + (mom1 - mom0) * frac)
}

/// One SGD-with-momentum update: v = μ·v − lr·g; p += v.
pub fn sgd(p: &mut [f64], g: &[f64], vel: &mut [f64], lr: f64, momentum: f64) {
    for i in 0..p.len() {
        vel[i] = momentum * vel[i] - lr * g[i];
        p[i] += vel[i];
    }
}
