//! Gradient penalties on a discriminator's input gradient, in f64: WGAN-GP's interpolates and
//! the penalty on each sample's gradient norm with its gradient.

use crate::philox::{draw, to_unit};

/// `ε·a + (1 − ε)·b` over the first `part` of each sample's `size` values (the rest are `a`'s),
/// ε from word x of Philox at `(sample, step, stream)`.
pub fn interpolate(
    (a, b): (&[f64], &[f64]),
    (size, part): (usize, usize),
    seed: u64,
    step: u32,
    stream: u32,
) -> Vec<f64> {
    a.iter()
        .zip(b)
        .enumerate()
        .map(|(i, (&a, &b))| {
            if i % size >= part {
                return a;
            }
            let e = to_unit(draw(seed, step, stream, (i / size) as u32)[0]) as f64;
            e * a + (1.0 - e) * b
        })
        .collect()
}

/// `weight · mean_i (‖gᵢ‖ − center)²` over the `batch` rows of `g`, the mean ‖gᵢ‖, and the
/// penalty's gradient at `g`.
pub fn norm_penalty(g: &[f64], batch: usize, weight: f64, center: f64) -> (f64, f64, Vec<f64>) {
    norm_penalty_of_part(g, batch, g.len() / batch, weight, center)
}

/// As [`norm_penalty`] with only the first `part` values of each row counted (the rest get
/// no gradient).
pub fn norm_penalty_of_part(
    g: &[f64],
    batch: usize,
    part: usize,
    weight: f64,
    center: f64,
) -> (f64, f64, Vec<f64>) {
    let size = g.len() / batch;
    let (mut total, mut norms) = (0.0, 0.0);
    let mut v = vec![0.0; g.len()];
    for (row, out) in g.chunks(size).zip(v.chunks_mut(size)) {
        let (row, out) = (&row[..part], &mut out[..part]);
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
        total += (norm - center).powi(2);
        norms += norm;
        // d/dg (‖g‖ − c)² = 2(‖g‖ − c)·g/‖g‖, which is 2g when c = 0.
        let coef = if center == 0.0 {
            2.0
        } else if norm > 0.0 {
            2.0 * (norm - center) / norm
        } else {
            0.0
        };
        for (o, x) in out.iter_mut().zip(row) {
            *o = weight / batch as f64 * coef * x;
        }
    }
    (weight * total / batch as f64, norms / batch as f64, v)
}
