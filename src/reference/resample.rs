//! Nearest-neighbour up-sampling by 2 and 2×2 average pooling (stride 2) in f64, on `planes`
//! images; pooling drops an odd last row or column, as PyTorch's `AvgPool2d(2)` does. Both
//! are linear, so their backward is the adjoint, which [`adjoint`] computes from the forward
//! itself: the reference backward is the forward's exact derivative by construction.

/// `x` of `[planes, h, w]` up-sampled to `[planes, 2h, 2w]`: each value on a 2×2 block.
pub fn upsample(x: &[f64], planes: usize, h: usize, w: usize) -> Vec<f64> {
    let (bh, bw) = (2 * h, 2 * w);
    let mut y = vec![0.0; planes * bh * bw];
    for p in 0..planes {
        for iy in 0..bh {
            for ix in 0..bw {
                y[(p * bh + iy) * bw + ix] = x[(p * h + iy / 2) * w + ix / 2];
            }
        }
    }
    y
}

/// The mean of each 2×2 block of `x` (`[planes, h, w]`): `[planes, h/2, w/2]`, rounded down.
pub fn avg_pool(x: &[f64], planes: usize, h: usize, w: usize) -> Vec<f64> {
    let (sh, sw) = (h / 2, w / 2);
    let mut y = vec![0.0; planes * sh * sw];
    for p in 0..planes {
        for oy in 0..sh {
            for ox in 0..sw {
                let mut s = 0.0;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    s += x[(p * h + 2 * oy + dy) * w + 2 * ox + dx];
                }
                y[(p * sh + oy) * sw + ox] = s / 4.0;
            }
        }
    }
    y
}

/// `Jᵀ dy` for a linear map `f` of `inputs` values: the gradient of `⟨dy, f(x)⟩` at any x,
/// found by applying `f` to each unit vector (for maps small enough to enumerate).
pub fn adjoint(f: impl Fn(&[f64]) -> Vec<f64>, inputs: usize, dy: &[f64]) -> Vec<f64> {
    (0..inputs)
        .map(|i| {
            let mut e = vec![0.0; inputs];
            e[i] = 1.0;
            f(&e).iter().zip(dy).map(|(a, b)| a * b).sum()
        })
        .collect()
}
