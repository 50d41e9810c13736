//! The sliced Wasserstein distance of Karras et al. 2018 in f64: the Laplacian pyramid
//! (binomial [1, 4, 6, 4, 1]/16 per axis, mirrored edges without repeating the edge pixel),
//! 7×7 patches at given positions, per-set normalisation, projections on given directions,
//! sorting with `f64::total_cmp` and the mean absolute difference of the sorted values.

/// The kernel along one axis.
const TAPS: [f64; 5] = [1.0, 4.0, 6.0, 4.0, 1.0];

/// `d c b | a b c d | c b a`.
fn mirror(i: isize, n: usize) -> usize {
    let n = n as isize;
    let i = i.abs();
    (if i >= n { 2 * (n - 1) - i } else { i }) as usize
}

/// The 2-D blur written as the 25-tap sum of the outer product, times `gain`.
fn blur(img: &[f64], s: usize, gain: f64) -> Vec<f64> {
    let mut out = vec![0.0; s * s];
    for y in 0..s {
        for x in 0..s {
            let mut acc = 0.0;
            for (ty, wy) in TAPS.iter().enumerate() {
                for (tx, wx) in TAPS.iter().enumerate() {
                    let yy = mirror(y as isize + ty as isize - 2, s);
                    let xx = mirror(x as isize + tx as isize - 2, s);
                    acc += wy * wx * img[yy * s + xx];
                }
            }
            out[y * s + x] = gain * acc / 256.0;
        }
    }
    out
}

/// The levels of a `side × side` image: `side`, `side/2`, `side/4` pixels, largest first.
pub fn laplacian(img: &[f64], side: usize) -> Vec<Vec<f64>> {
    let down = |img: &[f64], s: usize| -> Vec<f64> {
        let b = blur(img, s, 1.0);
        let mut out = Vec::new();
        for y in (0..s).step_by(2) {
            for x in (0..s).step_by(2) {
                out.push(b[y * s + x]);
            }
        }
        out
    };
    let up = |img: &[f64], s: usize| -> Vec<f64> {
        let mut z = vec![0.0; 4 * s * s];
        for y in 0..s {
            for x in 0..s {
                z[(2 * y) * (2 * s) + 2 * x] = img[y * s + x];
            }
        }
        blur(&z, 2 * s, 4.0)
    };
    let g1 = down(img, side);
    let g2 = down(&g1, side / 2);
    let u1 = up(&g1, side / 2);
    let u2 = up(&g2, side / 4);
    let l0 = img.iter().zip(&u1).map(|(a, b)| a - b).collect();
    let l1 = g1.iter().zip(&u2).map(|(a, b)| a - b).collect();
    vec![l0, l1, g2]
}

/// The 7×7 patch of the `s × s` image `img` with its top-left corner at (y, x), row-major.
pub fn patch(img: &[f64], s: usize, y: usize, x: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(49);
    for dy in 0..7 {
        for dx in 0..7 {
            out.push(img[(y + dy) * s + x + dx]);
        }
    }
    out
}

/// Patches (rows of any length) minus their mean over every value, over the population
/// standard deviation of every value (left unscaled when it is 0).
pub fn normalise(rows: &mut [Vec<f64>]) {
    let n: f64 = rows.iter().map(|r| r.len() as f64).sum();
    let mean = rows.iter().flatten().sum::<f64>() / n;
    let var = rows
        .iter()
        .flatten()
        .map(|v| (v - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = if var > 0.0 { var.sqrt() } else { 1.0 };
    for v in rows.iter_mut().flatten() {
        *v = (*v - mean) / std;
    }
}

/// For each direction (a row of `directions`), the mean over positions of |a - b| of the
/// sorted projections of `a` and `b` (equally many rows of the direction's length).
pub fn sliced_distances(a: &[Vec<f64>], b: &[Vec<f64>], directions: &[Vec<f64>]) -> Vec<f64> {
    assert_eq!(a.len(), b.len(), "equally many rows");
    let project = |set: &[Vec<f64>], d: &[f64]| -> Vec<f64> {
        let mut p: Vec<f64> = set
            .iter()
            .map(|r| r.iter().zip(d).map(|(x, w)| x * w).sum())
            .collect();
        p.sort_by(f64::total_cmp);
        p
    };
    directions
        .iter()
        .map(|d| {
            let (pa, pb) = (project(a, d), project(b, d));
            pa.iter().zip(&pb).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
        })
        .collect()
}

/// The distance ×10³ at each level: `a` and `b` are `[n, side²]` images, `positions` the
/// (image, y, x) of each patch per level, the same in both sets, `directions` the unit directions of each
/// repeat; the mean over the directions of a repeat, then over the repeats.
pub fn swd(
    a: &[f64],
    b: &[f64],
    side: usize,
    positions: &[Vec<(usize, usize, usize)>],
    directions: &[Vec<Vec<f64>>],
) -> Vec<f64> {
    let pyramids = |set: &[f64]| -> Vec<Vec<Vec<f64>>> {
        set.chunks_exact(side * side)
            .map(|img| laplacian(img, side))
            .collect()
    };
    let (pa, pb) = (pyramids(a), pyramids(b));
    (0..3)
        .map(|level| {
            let s = side >> level;
            let take = |pyr: &[Vec<Vec<f64>>], pos: &[(usize, usize, usize)]| {
                let mut rows: Vec<Vec<f64>> = pos
                    .iter()
                    .map(|&(i, y, x)| patch(&pyr[i][level], s, y, x))
                    .collect();
                normalise(&mut rows);
                rows
            };
            let (da, db) = (take(&pa, &positions[level]), take(&pb, &positions[level]));
            let per_repeat: Vec<f64> = directions
                .iter()
                .map(|dirs| {
                    let d = sliced_distances(&da, &db, dirs);
                    d.iter().sum::<f64>() / d.len() as f64
                })
                .collect();
            1e3 * per_repeat.iter().sum::<f64>() / per_repeat.len() as f64
        })
        .collect()
}
