//! The first power-iteration vectors of a spectrally normalised weight: u drawn from N(0, 1)
//! and normalised, then 15 power iterations on the initial weight (as PyTorch's
//! parametrization does when it is registered), so the first step's σ is already close.

use crate::philox;

/// Iterations run on the host before the first step.
const WARM_UP: usize = 15;

fn normalise(x: Vec<f64>) -> Vec<f64> {
    let n = x.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    x.into_iter().map(|v| v / n).collect()
}

/// `(u, v)` for the weight `w` seen as `[rows, w.len() / rows]`, u drawn from the network's
/// seed on a stream of op `op`'s own.
pub(crate) fn vectors(w: &[f32], rows: usize, seed: u64, op: u32) -> (Vec<f32>, Vec<f32>) {
    let cols = w.len() / rows;
    let at = |i: usize, j: usize| w[i * cols + j] as f64;
    let mut u = normalise(
        (0..rows as u32)
            .map(|i| {
                let r = philox::draw(seed, u32::MAX - 1, op, i);
                philox::to_normal(r[0], r[1])
            })
            .collect(),
    );
    let mut v = vec![0.0; cols];
    for _ in 0..WARM_UP {
        v = normalise(
            (0..cols)
                .map(|j| (0..rows).map(|i| at(i, j) * u[i]).sum())
                .collect(),
        );
        u = normalise(
            (0..rows)
                .map(|i| (0..cols).map(|j| at(i, j) * v[j]).sum())
                .collect(),
        );
    }
    let f32s = |x: Vec<f64>| x.into_iter().map(|v| v as f32).collect();
    (f32s(u), f32s(v))
}
