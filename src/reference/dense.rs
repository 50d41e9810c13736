//! Matrix multiply, bias, activations, maxout and dropout.

use crate::philox::{draw, to_unit};

/// An elementwise nonlinearity, the reference's own (the kernels' `Activation` is not used
/// here, so the two are matched by the tests, not by sharing a type).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    /// `x` for `x > 0`, else `slope·x`.
    LeakyRelu(f64),
    Tanh,
    Sigmoid,
}

/// `op(a) · op(b)` for row-major `a` (`[m,k]`, or `[k,m]` if `ta`) and `b` (`[k,n]` or `[n,k]`).
#[allow(clippy::too_many_arguments)]
pub fn gemm(a: &[f64], ta: bool, b: &[f64], tb: bool, m: usize, n: usize, k: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for l in 0..k {
                let av = if ta { a[l * m + i] } else { a[i * k + l] };
                let bv = if tb { b[j * k + l] } else { b[l * n + j] };
                s += av * bv;
            }
            c[i * n + j] = s;
        }
    }
    c
}

/// Linear layer `y = x·Wᵀ + b` with `x` `[batch, inp]`, `w` `[out, inp]`.
pub fn linear(
    x: &[f64],
    w: &[f64],
    b: Option<&[f64]>,
    batch: usize,
    inp: usize,
    out: usize,
) -> Vec<f64> {
    let mut y = gemm(x, false, w, true, batch, out, inp);
    if let Some(b) = b {
        for r in 0..batch {
            for o in 0..out {
                y[r * out + o] += b[o];
            }
        }
    }
    y
}

/// Gradients of the linear layer: (dx, dW, db).
pub fn linear_backward(
    x: &[f64],
    w: &[f64],
    dy: &[f64],
    batch: usize,
    inp: usize,
    out: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let dx = gemm(dy, false, w, false, batch, inp, out);
    let dw = gemm(dy, true, x, false, out, inp, batch);
    let db = sum_rows(dy, batch, out);
    (dx, dw, db)
}

/// Column sums of a `[rows, cols]` matrix.
pub fn sum_rows(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    (0..cols)
        .map(|c| (0..rows).map(|r| x[r * cols + c]).sum())
        .collect()
}

/// The activation applied elementwise.
pub fn activation(act: Act, x: &[f64]) -> Vec<f64> {
    x.iter()
        .map(|&v| match act {
            Act::Relu => v.max(0.0),
            Act::LeakyRelu(s) => {
                if v > 0.0 {
                    v
                } else {
                    s * v
                }
            }
            Act::Tanh => v.tanh(),
            Act::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        })
        .collect()
}

/// dx of the activation from its input `x` and the upstream `dy`.
pub fn activation_backward(act: Act, x: &[f64], dy: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| match act {
            Act::Relu => {
                if v > 0.0 {
                    g
                } else {
                    0.0
                }
            }
            Act::LeakyRelu(s) => {
                if v > 0.0 {
                    g
                } else {
                    s * g
                }
            }
            Act::Tanh => g * (1.0 - v.tanh().powi(2)),
            Act::Sigmoid => {
                let s = 1.0 / (1.0 + (-v).exp());
                g * s * (1.0 - s)
            }
        })
        .collect()
}

/// Maxout over `pieces` consecutive inputs.
pub fn maxout(x: &[f64], pieces: usize) -> Vec<f64> {
    x.chunks(pieces)
        .map(|c| c.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
        .collect()
}

/// Maxout backward: dy routed to the first maximum of each group.
pub fn maxout_backward(x: &[f64], dy: &[f64], pieces: usize) -> Vec<f64> {
    let mut dx = vec![0.0; x.len()];
    for (o, c) in x.chunks(pieces).enumerate() {
        let mut best = 0;
        for j in 1..pieces {
            if c[j] > c[best] {
                best = j;
            }
        }
        dx[o * pieces + best] = dy[o];
    }
    dx
}

/// Whether dropout keeps element `i`: the first Philox word at `(i, step, stream)` as a
/// uniform in [0, 1) is below `keep`.
pub fn kept(seed: u64, step: u32, stream: u32, i: u32, keep: f32) -> bool {
    to_unit(draw(seed, step, stream, i)[0]) < keep
}

/// Inverted dropout given the keep mask.
pub fn dropout(x: &[f64], mask: &[bool], keep: f64) -> Vec<f64> {
    x.iter()
        .zip(mask)
        .map(|(&v, &m)| if m { v / keep } else { 0.0 })
        .collect()
}

/// pylearn2's max_col_norm on a `[rows, cols]` weight: each row scaled to norm ≤ `c`.
pub fn max_norm(w: &mut [f64], rows: usize, c: f64) {
    let cols = w.len() / rows;
    for r in w.chunks_mut(cols).take(rows) {
        let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale = norm.min(c) / (1e-7 + norm);
        r.iter_mut().for_each(|v| *v *= scale);
    }
}
