//! The stabilisation kernels of `shaders/stabilise.wgsl` on the CPU: flipped targets, annealed
//! instance noise, the replay buffer's mixing and storing, and G's weight average.

use crate::philox::{draw, to_normal, to_unit};

/// D's targets at `step`: `(real, fake)`, each flipped (real_label ↔ 0) with probability
/// `fraction` from words 0 and 1 of Philox at `(i, step, stream)`.
pub fn flipped_targets(
    seed: u64,
    step: u32,
    stream: u32,
    n: usize,
    fraction: f32,
    real_label: f32,
) -> (Vec<f32>, Vec<f32>) {
    (0..n as u32)
        .map(|i| {
            let r = draw(seed, step, stream, i);
            let real = if to_unit(r[0]) < fraction {
                0.0
            } else {
                real_label
            };
            let fake = if to_unit(r[1]) < fraction {
                real_label
            } else {
                0.0
            };
            (real, fake)
        })
        .unzip()
}

/// σ at iteration `t`: `sigma·(1 − t/anneal)` before `anneal`, 0 from it on, `sigma` for
/// `anneal` = 0.
pub fn noise_sigma(t: u32, sigma: f32, anneal: u32) -> f64 {
    if anneal == 0 {
        sigma as f64
    } else if t >= anneal {
        0.0
    } else {
        sigma as f64 * (anneal - t) as f64 / anneal as f64
    }
}

/// `x + σ_t·N(0, 1)` with the normals of Philox at `(i, step, stream)` and σ_t at iteration `t`.
pub fn instance_noise(
    x: &[f32],
    seed: u64,
    step: u32,
    stream: u32,
    t: u32,
    sigma: f32,
    anneal: u32,
) -> Vec<f64> {
    let s = noise_sigma(t, sigma, anneal);
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            if s == 0.0 {
                return v as f64;
            }
            let r = draw(seed, step, stream, i as u32);
            v as f64 + s * to_normal(r[0], r[1])
        })
        .collect()
}

/// Ring slots filled before `step`: min(step·batch, capacity).
pub fn replay_filled(step: u32, batch: usize, capacity: usize) -> usize {
    (step as usize).saturating_mul(batch).min(capacity)
}

/// The ring slot that replayed sample `i` reads at `step` with `filled` slots filled.
pub fn replay_slot(seed: u64, step: u32, stream: u32, i: u32, filled: usize) -> usize {
    ((draw(seed, step, stream, i)[0] as u64 * filled as u64) >> 32) as usize
}

/// D's fake batch at `step`: samples `i < replayed` from the ring (when it holds any), the
/// rest fresh. Samples are `size` values; `fresh` holds `batch` of them.
#[allow(clippy::too_many_arguments)]
pub fn replay_mix(
    fresh: &[f32],
    ring: &[f32],
    size: usize,
    replayed: usize,
    capacity: usize,
    seed: u64,
    step: u32,
    stream: u32,
) -> Vec<f32> {
    let batch = fresh.len() / size;
    let filled = replay_filled(step, batch, capacity);
    let mut out = fresh.to_vec();
    if filled == 0 {
        return out;
    }
    for i in 0..replayed {
        let slot = replay_slot(seed, step, stream, i as u32, filled);
        out[i * size..(i + 1) * size].copy_from_slice(&ring[slot * size..(slot + 1) * size]);
    }
    out
}

/// Stores the first min(batch, capacity) fresh samples at ring slots (step·batch + i) mod
/// capacity.
pub fn replay_store(ring: &mut [f32], fresh: &[f32], size: usize, capacity: usize, step: u32) {
    let batch = fresh.len() / size;
    for i in 0..batch.min(capacity) {
        let slot = ((step as u64 * batch as u64 + i as u64) % capacity as u64) as usize;
        ring[slot * size..(slot + 1) * size].copy_from_slice(&fresh[i * size..(i + 1) * size]);
    }
}

/// One step of an exponential moving average: `avg = decay·avg + (1 − decay)·params`.
pub fn ema(avg: &mut [f64], params: &[f64], decay: f64) {
    for (a, &p) in avg.iter_mut().zip(params) {
        *a = decay * *a + (1.0 - decay) * p;
    }
}
