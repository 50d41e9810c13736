//! Philox 4x32-10, the uniform/normal conversions, and the data set's epoch permutation,
//! exactly as the shaders compute them.

/// Philox 4x32 with 10 rounds.
pub fn philox(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for _ in 0..10 {
        let p0 = 0xD251_1F53u64 * c[0] as u64;
        let p1 = 0xCD9E_8D57u64 * c[2] as u64;
        c = [
            (p1 >> 32) as u32 ^ c[1] ^ k[0],
            p1 as u32,
            (p0 >> 32) as u32 ^ c[3] ^ k[1],
            p0 as u32,
        ];
        k = [
            k[0].wrapping_add(0x9E37_79B9),
            k[1].wrapping_add(0xBB67_AE85),
        ];
    }
    c
}

/// The four words for element `i` at `step` of `stream`.
pub fn draw(seed: u64, step: u32, stream: u32, i: u32) -> [u32; 4] {
    philox([i, step, stream, 0], [seed as u32, (seed >> 32) as u32])
}

/// Uniform in [0, 1) from the top 24 bits.
pub fn to_unit(u: u32) -> f32 {
    (u >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Uniform in (0, 1].
pub fn to_unit_open(u: u32) -> f32 {
    ((u >> 8) + 1) as f32 * (1.0 / 16_777_216.0)
}

/// Box–Muller (cosine branch), in f64.
pub fn to_normal(u0: u32, u1: u32) -> f64 {
    let r = (-2.0 * (to_unit_open(u0) as f64).ln()).sqrt();
    r * (std::f64::consts::TAU * to_unit(u1) as f64).cos()
}

/// Whether dropout keeps element `i`.
pub fn kept(seed: u64, step: u32, stream: u32, i: u32, keep: f32) -> bool {
    to_unit(draw(seed, step, stream, i)[0]) < keep
}

fn mix32(v: u32) -> u32 {
    let mut x = v;
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

fn feistel(v: u32, half: u32, seed: u64, epoch: u32) -> u32 {
    let mask = (1u32 << half) - 1;
    let (lo, hi) = (seed as u32, (seed >> 32) as u32);
    let mut l = v >> half;
    let mut r = v & mask;
    for round in 0..4u32 {
        let f = mix32(
            r ^ mix32(lo ^ mix32(hi.wrapping_add(epoch.wrapping_mul(4)).wrapping_add(round))),
        ) & mask;
        let nl = r;
        r = l ^ f;
        l = nl;
    }
    (l << half) | r
}

/// Position `r` of epoch `epoch` of a shuffled pass over `count` items.
pub fn permute(r: u32, count: u32, seed: u64, epoch: u32) -> u32 {
    let half = crate::ops::data::half_bits(count as usize);
    let mut v = feistel(r, half, seed, epoch);
    while v >= count {
        v = feistel(v, half, seed, epoch);
    }
    v
}

/// Which item sample `b` of batch `step` is.
pub fn batch_index(step: u32, batch: u32, b: u32, count: u32, seed: u64) -> u32 {
    let pos = step * batch + b;
    permute(pos % count, count, seed, pos / count)
}

/// Bilinear resize of one `src_h × src_w` image to `out_h × out_w`, sampling at pixel centres
/// with clamped edges (PyTorch's `interpolate(mode="bilinear", align_corners=False)`).
pub fn resize_bilinear(
    src: &[f64],
    src_h: usize,
    src_w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(out_h * out_w);
    for oy in 0..out_h {
        for ox in 0..out_w {
            let sy = ((oy as f64 + 0.5) * src_h as f64 / out_h as f64 - 0.5).max(0.0);
            let sx = ((ox as f64 + 0.5) * src_w as f64 / out_w as f64 - 0.5).max(0.0);
            let (y0, x0) = ((sy as usize).min(src_h - 1), (sx as usize).min(src_w - 1));
            let (y1, x1) = ((y0 + 1).min(src_h - 1), (x0 + 1).min(src_w - 1));
            let (fy, fx) = (sy - y0 as f64, sx - x0 as f64);
            let at = |y: usize, x: usize| src[y * src_w + x];
            let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
            let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
            out.push(top + (bottom - top) * fy);
        }
    }
    out
}
