//! Progressive growing's fade-in in f64: `α·new + (1 − α)·old`, α rising linearly from 0 at
//! iteration `start` to 1 at `start + steps`.

/// α after `t` finished iterations.
pub fn alpha(t: u64, start: u64, steps: u64) -> f64 {
    (t.saturating_sub(start) as f64 / steps as f64).min(1.0)
}

/// The blend of `new` and `old` at α.
pub fn forward(new: &[f64], old: &[f64], alpha: f64) -> Vec<f64> {
    new.iter()
        .zip(old)
        .map(|(n, o)| alpha * n + (1.0 - alpha) * o)
        .collect()
}
