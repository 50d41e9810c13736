//! The CPU reference of every op: plain loops in f64, the math written out. Shaders are tested
//! against these; these are tested against finite differences.

pub mod batchnorm;
pub mod conv;
pub mod dense;
pub mod feature_matching;
pub mod labels;
pub mod logsumexp;
pub mod loss;
pub mod minibatch_std;
pub mod optim;
pub mod parzen;
pub mod rng;
pub mod softmax;
pub mod stabilise;
