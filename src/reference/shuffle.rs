//! The data set's shuffle, as `shaders/data.wgsl` computes it: a keyed 4-round Feistel
//! permutation of each epoch's positions, walked until it lands inside the data set.

/// The Feistel half width: the fewest bits (at least 1) such that two halves cover `count`
/// positions, i.e. the smallest `half ≥ 1` with `2^(2·half) ≥ count`.
pub fn half_bits(count: u32) -> u32 {
    let mut half = 1;
    while (1u64 << (2 * half)) < count as u64 {
        half += 1;
    }
    half
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
    let half = half_bits(count);
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
