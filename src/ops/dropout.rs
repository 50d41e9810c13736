//! Inverted dropout with a mask drawn from Philox, identical in forward and backward.

use super::{groups_256, same_len, seed_words, u, Clock};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `dropout.wgsl`'s parameters.
    pub(crate) struct DropoutParams for Dropout::Params {
        n: u32,
        keep: f32,
        seed_lo: u32,
        seed_hi: u32,
        stream: u32,
        t_mul: u32,
        t_add: u32,
    }
}

/// Where a dropout mask comes from: (seed, stream) plus the step from the GPU clock.
#[derive(Clone, Copy, Debug)]
pub struct Mask {
    pub keep: f32,
    pub seed: u64,
    pub stream: u32,
    pub clock: Clock,
}

/// `dst = mask · src / keep`. The forward passes x → y; the backward passes dy → dx with the
/// same mask.
pub fn apply(gpu: &Gpu, mask: Mask, state: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Kernel> {
    same_len("dropout", src, dst)?;
    if !(mask.keep > 0.0 && mask.keep <= 1.0) {
        return Err(Error::Config(format!(
            "dropout keep probability must be in (0, 1], got {}",
            mask.keep
        )));
    }
    let [lo, hi] = seed_words(mask.seed);
    let params = DropoutParams {
        n: u(src.len()),
        keep: mask.keep,
        seed_lo: lo,
        seed_hi: hi,
        stream: mask.stream,
        t_mul: mask.clock.mul,
        t_add: mask.clock.add,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Dropout, "dropout"),
        &[
            Bind::params(&params),
            Bind::Read(state),
            Bind::Read(src),
            Bind::Write(dst),
        ],
        groups_256(src.len()),
    )
}
