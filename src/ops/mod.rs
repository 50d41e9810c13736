//! The Rust side of every op: shape checks, parameters, and the kernels that run it.
//!
//! Each function builds [`Kernel`](crate::gpu::Kernel)s once; encoding them is all a training step does.
//! Backward rules live next to their forward here; `src/reference` has the CPU versions.

pub mod activation;
pub mod batchnorm;
pub mod concat;
pub mod constraint;
pub mod conv;
pub mod data;
pub mod dropout;
pub mod elementwise;
pub mod fade;
pub mod feature_matching;
pub mod gemm;
pub mod instance_norm;
pub mod labels;
pub mod logsumexp;
pub mod loss;
pub mod maxout;
pub mod minibatch_std;
pub mod morphology;
pub mod optim;
pub mod peak;
pub mod penalty;
pub mod pixel_norm;
pub mod resample;
pub mod rng;
pub mod softmax;
pub mod sort;
pub mod spectral;
pub mod stabilise;
pub(crate) mod tiled;
pub mod transpose;

use crate::{Error, Result, Tensor};

/// Where a kernel reads the step number for its randomness or update count:
/// `step = state[0] · mul + add`, with `state[0]` the GPU's count of finished iterations.
/// Several sub-steps per iteration (k D steps) use `mul = k` and `add = j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Steps per iteration.
    pub mul: u32,
    /// This sub-step's index within the iteration.
    pub add: u32,
}

impl Clock {
    /// One tick per iteration.
    pub const ITERATION: Clock = Clock { mul: 1, add: 0 };
}

/// Splits a 64-bit seed into the two key words of Philox.
pub(crate) fn seed_words(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Workgroups of 256 covering `n` elements.
pub(crate) fn groups_256(n: usize) -> u32 {
    n.div_ceil(256) as u32
}

/// Checks that two tensors hold the same number of values.
pub(crate) fn same_len(op: &str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.len() != b.len() {
        return Err(Error::shape(
            op,
            format!("{:?} and {:?} differ in size", a.shape(), b.shape()),
        ));
    }
    Ok(())
}

pub(crate) fn u(x: usize) -> u32 {
    x as u32
}
