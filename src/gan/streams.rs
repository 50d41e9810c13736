//! Every Philox stream a GAN iteration draws from, in one table: each random use has its own
//! stream, so no two uses see correlated numbers. A draw's counter is (index, step, stream);
//! the step comes from the iteration's clock, so a stream is only ever reused at another step.

/// The latent vectors z of D step j (all D steps share it: their clocks differ).
pub(crate) const Z: u32 = 1;
/// The conditional GAN's fake labels.
pub const FAKE_LABELS: u32 = 2;
/// Flipped targets of D's real and fake batches.
pub(crate) const FLIP: u32 = 7;
/// Instance noise on D's real batch, its fake batch, and G's step's input.
pub(crate) const NOISE_REAL: u32 = 3;
pub(crate) const NOISE_FAKE: u32 = 4;
pub(crate) const NOISE_G: u32 = 5;
/// Which replayed fakes D's fake batch gets.
pub(crate) const REPLAY: u32 = 6;
/// WGAN-GP's ε per sample; D's tape on the interpolates of D step j is `D + 4·j + 2`.
pub(crate) const PENALTY: u32 = 8;
/// G's noise layers in D step j: `G + j`. A network's dropout masks draw from stream
/// `64·s + layer` of its tape's stream s, so the direct streams above stay below 16·64.
pub(crate) const G: u32 = 16;
/// D's noise layers: `D + 4·j` on the real and `D + 4·j + 1` on the fake batch of D step j,
/// `D − 1` in G's step (the semi-supervised GAN's five D tapes use `D .. D + 5`).
pub(crate) const D: u32 = 1024;
/// Sampling from fixed latent vectors, on the CPU and in generate mode.
pub(crate) const SAMPLE: u32 = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_direct_stream_is_its_own() {
        let direct = [
            Z,
            FAKE_LABELS,
            FLIP,
            NOISE_REAL,
            NOISE_FAKE,
            NOISE_G,
            REPLAY,
            PENALTY,
        ];
        let mut seen = std::collections::BTreeSet::new();
        assert!(direct.iter().all(|s| seen.insert(*s)), "{direct:?}");
        // G's tapes (one per D step) and D's (four per D step, one for G's step) stay in
        // their ranges, below the sampling stream, and above the direct streams.
        assert!(direct.iter().all(|&s| s < G));
        let (g_tapes, d_tapes) = (G..G + 64, D - 1..D + 4 * 64);
        assert!(g_tapes.end <= d_tapes.start && d_tapes.end <= SAMPLE);
    }
}
