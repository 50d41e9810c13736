//! Class labels for conditional GANs: the uniform label draw and the one-hot rows / label maps,
//! exactly as `shaders/labels.wgsl` computes them.

use crate::philox;

/// `n` labels uniform on `0..classes` at `step` of `stream`: label `i` is
/// `⌊u · classes / 2^32⌋` for `u` the first Philox word of `(i, step, stream, 0)`.
pub fn draw(seed: u64, step: u32, stream: u32, n: usize, classes: u32) -> Vec<u32> {
    (0..n as u32)
        .map(|i| ((philox::draw(seed, step, stream, i)[0] as u64 * classes as u64) >> 32) as u32)
        .collect()
}

/// `[labels.len(), classes, spatial]`: 1 where the class is the sample's label, else 0, the
/// same at every spatial position. A label ≥ `classes` gives an all-zero row.
pub fn one_hot(labels: &[u32], classes: usize, spatial: usize) -> Vec<f64> {
    let mut out = vec![0.0; labels.len() * classes * spatial];
    for (n, &l) in labels.iter().enumerate() {
        if (l as usize) < classes {
            let start = (n * classes + l as usize) * spatial;
            out[start..start + spatial].fill(1.0);
        }
    }
    out
}
