#![warn(missing_docs)]
//! counterfeit: generative adversarial networks trained entirely on the GPU.
//!
//! Every forward and backward pass is a WGSL compute shader dispatched through wgpu. Networks
//! are built for a fixed batch size; building records every dispatch of a training iteration
//! once, and each step replays them in one command encoder and one queue submission.
//!
//! ```no_run
//! use counterfeit::{Gpu, Sequential, Dataset, Trainer, TrainerConfig};
//! # fn main() -> counterfeit::Result<()> {
//! let gpu = Gpu::new()?;
//! let g = Sequential::new([100]).linear(1200).relu().linear(784).sigmoid();
//! let d = Sequential::new([784]).linear(240).leaky_relu(0.2).linear(1);
//! let data = Dataset::mnist(&gpu, None, (0.0, 1.0))?;
//! let mut gan = Trainer::new(&gpu, g, d, &data, TrainerConfig::default())?;
//! for _ in 0..100 {
//!     gan.step()?;
//! }
//! # Ok(()) }
//! ```

pub mod data;
pub mod distributed;
pub mod error;
pub mod eval;
pub mod gan;
pub mod gpu;
pub mod io;
mod metrics;
pub mod nn;
// The kernels and their f64 oracles are public so that the tests under `tests/` reach every
// shader; they are not the user's API, so the documentation leaves them out.
#[doc(hidden)]
pub mod ops;
pub mod philox;
#[doc(hidden)]
pub mod reference;
pub mod step;
pub mod tape;
mod tensor;

pub use data::{DataSource, Dataset};
pub use error::{Error, Result};
pub use gan::{GLoss, GanLoss, GradientPenalty, Noise, Trainer, TrainerConfig};
pub use gpu::{Gpu, Layouts};
pub use metrics::{QualityPoint, StepMetrics};
pub use nn::{Graph, GraphBuilder, Init, Mode, Network, Node, Sequential};
pub use ops::loss::{bce_with_logits, Loss};
pub use ops::optim::Optimizer;
pub use ops::Clock;
pub use tensor::Tensor;
/// The wgpu this crate is built on, so a host program needs no second, version-matched
/// dependency to share its device.
pub use wgpu;
