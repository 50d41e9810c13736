//! Philox 4x32-10 on the CPU, word for word what `shaders/rng.wgsl` draws, with its uniform and
//! normal conversions. The host draws from it whatever it needs before or outside the GPU's
//! loop (initial parameters, sample latents, slanted-land faces, class-balanced label subsets)
//! so that those numbers are the same on every machine and match the GPU's streams; the CPU
//! references use it as the oracle of the GPU's random numbers.

/// Philox 4x32 with 10 rounds (Salmon et al. 2011, as Random123's `philox4x32_10`).
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

/// The four words for element `i` at `step` of `stream`: counter `(i, step, stream, 0)`, key
/// the seed's low and high halves.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_matches_random123_known_answers() {
        // kat_vectors from Random123 for philox4x32 with 10 rounds.
        let cases: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            (
                [0, 0, 0, 0],
                [0, 0],
                [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
            ),
            (
                [0xffffffff; 4],
                [0xffffffff, 0xffffffff],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (ctr, key, want) in cases {
            let got = philox(ctr, key);
            assert_eq!(
                got, want,
                "philox({ctr:08x?}, {key:08x?}) = {got:08x?}, want {want:08x?}"
            );
        }
        // draw() places (i, step, stream, 0) in the counter and the seed's halves in the key.
        let seed = 0x1234_5678_9abc_def0u64;
        assert_eq!(
            draw(seed, 7, 3, 42),
            philox([42, 7, 3, 0], [0x9abc_def0, 0x1234_5678])
        );
    }

    #[test]
    fn conversions_cover_their_intervals_exactly() {
        // 24 bits each: 0 and the largest word give the ends of the intervals.
        assert_eq!(to_unit(0), 0.0);
        assert_eq!(to_unit(u32::MAX), 1.0 - 1.0 / 16_777_216.0);
        assert_eq!(to_unit_open(0), 1.0 / 16_777_216.0);
        assert_eq!(to_unit_open(u32::MAX), 1.0);
        // Box–Muller: u0 = 1 gives radius 0; u1 = 0 gives the cosine's peak.
        assert_eq!(to_normal(u32::MAX, 12345), 0.0);
        let r = (-2.0 * (1.0f64 / 16_777_216.0).ln()).sqrt();
        assert_eq!(to_normal(0, 0), r);
    }
}
