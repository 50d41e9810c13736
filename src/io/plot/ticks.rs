//! Axis ranges and their tick marks: round steps (1, 2 or 5 × 10^k) and labels with no more
//! decimals than the step needs, so an axis reads 0, 0.5, 1 rather than −0.2, 0.35, 0.9.

/// An axis from `first` to `last` with a tick at every multiple of `step` between them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Ticks {
    pub first: f64,
    pub last: f64,
    pub step: f64,
}

impl Ticks {
    /// The multiples of the step on the axis, ends included where they are multiples.
    pub fn values(&self) -> Vec<f64> {
        let start = (self.first / self.step - 1e-6).ceil();
        let end = (self.last / self.step + 1e-6).floor();
        (0..=(end - start).max(-1.0) as i64)
            .map(|i| (start + i as f64) * self.step)
            .collect()
    }
}

/// The finest round step (1, 2 or 5 × 10^k) that cuts `lo..hi`, widened outwards to
/// multiples of the step, into at most `max_intervals` intervals; with `whole`, no step below
/// 1 (an axis of training steps). A range that is empty or a single value is first widened
/// around it, so the axis is always drawable.
pub(super) fn nice_ticks(lo: f64, hi: f64, max_intervals: usize, whole: bool) -> Ticks {
    let (lo, hi) = widen(lo, hi);
    let max_intervals = max_intervals.max(1) as f64;
    // Candidates from just below the smallest possible step upwards; one of the first few
    // always fits, and the loop is bounded either way.
    let mut k = ((hi - lo) / max_intervals).log10().floor() as i32 - 1;
    if whole {
        k = k.max(0);
    }
    loop {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(k);
            let (first, last) = ((lo / step).floor(), (hi / step).ceil());
            if last - first <= max_intervals || k > 300 {
                return Ticks {
                    first: first * step,
                    last: last * step,
                    step,
                };
            }
        }
        k += 1;
    }
}

/// A range with `lo < hi`: an empty range (`lo > hi`, no finite data) becomes 0..1 and a
/// single value `v` becomes `v ± 10%` (`−1..1` around 0).
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return (0.0, 1.0);
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

/// The finite minimum and maximum of `values`, or `(∞, −∞)` when there are none (which
/// [`nice_ticks`] draws as 0..1).
pub(super) fn finite_range(values: impl Iterator<Item = f32>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v as f64), hi.max(v as f64))
        })
}

/// A tick value with at most the decimals that `step` needs (0.5 → one, 0.25 → two, 100 →
/// none) and no trailing zeros; scientific notation for very large or very small magnitudes.
pub(super) fn format_tick(v: f64, step: f64) -> String {
    let step = step.abs();
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        let digits = (a.log10().floor() - step.log10().floor()).clamp(0.0, 6.0) as usize;
        return format!("{v:.digits$e}").to_uppercase();
    }
    let decimals = (0..=6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled
        })
        .unwrap_or(6) as usize;
    let s = format!("{v:.decimals$}");
    // 1 rather than 1.0 next to 0.5: the step is told by the grid, not by the zeros.
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s.trim_start_matches('-').chars().all(|c| c == '0') {
        "0".into()
    } else {
        s.into()
    }
}
