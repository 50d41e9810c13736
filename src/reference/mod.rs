//! The CPU reference of every op: plain loops in f64, the math written out. Shaders are tested
//! against these; these are tested against finite differences.
//!
//! These are test oracles and nothing else: nothing at run time calls them, and they share no
//! code with the kernels (`crate::ops`), not even the shapes: [`conv::Conv2d`],
//! [`conv::ConvTranspose2d`], [`layout::Layout`] and [`dense::Act`] are their own, with their
//! own output sizes, so a wrong size in the kernels' geometry shows up as a disagreement. The
//! oracles of the GPU's random numbers draw from the CPU Philox in [`crate::philox`].

pub mod batchnorm;
pub mod conv;
pub mod dense;
pub mod fade;
pub mod feature_matching;
pub mod instance_norm;
pub mod labels;
pub mod layout;
pub mod logsumexp;
pub mod loss;
pub mod minibatch_std;
pub mod morphology;
pub mod optim;
pub mod parzen;
pub mod penalty;
pub mod pixel_norm;
pub mod resample;
pub mod shuffle;
pub mod softmax;
pub mod spectral;
pub mod stabilise;
pub mod swd;
