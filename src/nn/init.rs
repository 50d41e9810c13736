//! Parameter initialisation, drawn on the CPU once from the same Philox stream as the GPU.

use crate::philox;

/// How weights are drawn; biases start at zero except under `PyTorch`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// N(0, std²), e.g. DCGAN's 0.02.
    Normal(f32),
    /// U(−r, r), as pylearn2's `irange`.
    Uniform(f32),
    /// PyTorch's Linear default: weights and biases U(−1/√in, 1/√in).
    PyTorch,
}

impl Init {
    /// Values for parameter `index` of a network, weight (`is_bias` false) or bias, `fan_in`
    /// inputs per output.
    pub(crate) fn draw(
        self,
        seed: u64,
        index: u32,
        len: usize,
        fan_in: usize,
        is_bias: bool,
    ) -> Vec<f32> {
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        (0..len as u32)
            .map(|i| {
                let r = philox::draw(seed, u32::MAX, index, i);
                let unit = philox::to_unit(r[0]) as f64 * 2.0 - 1.0;
                let v = match (self, is_bias) {
                    (Init::PyTorch, _) => unit * bound,
                    (_, true) => 0.0,
                    (Init::Normal(std), false) => std as f64 * philox::to_normal(r[0], r[1]),
                    (Init::Uniform(range), false) => unit * range as f64,
                };
                v as f32
            })
            .collect()
    }
}
