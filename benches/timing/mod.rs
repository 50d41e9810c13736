//! The timing the benchmarks share: docs/BENCHMARKS.md's protocol of a median over
//! synchronised iterations after untimed warm-up ones.

use std::time::Instant;

/// The median of `v` (sorted in place; not empty).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0
}

/// The median wall time in ms of `iters` calls of `iteration` after `warmup` untimed calls;
/// each call runs one training iteration and reads its losses back.
pub fn median_ms(
    warmup: usize,
    iters: usize,
    mut iteration: impl FnMut() -> counterfeit::Result<()>,
) -> counterfeit::Result<f64> {
    for _ in 0..warmup {
        iteration()?;
    }
    let mut times = (0..iters)
        .map(|_| {
            let t = Instant::now();
            iteration().map(|()| t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<counterfeit::Result<Vec<f64>>>()?;
    Ok(median(&mut times))
}
