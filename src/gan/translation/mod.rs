//! Image-to-image translation: pix2pix (Isola et al. 2017) learns from pairs of an input and
//! its target, here a digit's outline or its low-resolution copy and the digit itself;
//! CycleGAN (Zhu et al. 2017) learns from two unpaired domains, here thin digits and thick
//! ones. The networks are scaled to 28×28 digits.
//!
//! ```no_run
//! use counterfeit::gan::translation::{self, PairedTask, Pix2Pix, Pix2PixConfig};
//! use counterfeit::{Dataset, Gpu};
//! # fn main() -> counterfeit::Result<()> {
//! let gpu = Gpu::new()?;
//! let digits = Dataset::mnist(&gpu, None, (-1.0, 1.0))?;
//! let pairs = PairedTask::Outline.pairs(&gpu, &digits)?;
//! let mut gan = Pix2Pix::new(
//!     &gpu,
//!     translation::unet28(32)?,
//!     Some(translation::patch_discriminator28(2, 32)?),
//!     &pairs,
//!     Pix2PixConfig::paper(16),
//! )?;
//! for _ in 0..1000 {
//!     gan.step()?;
//! }
//! # Ok(()) }
//! ```

mod cycle_metrics;
mod cyclegan;
mod metrics;
mod networks;
mod pix2pix;
mod task;

pub use cycle_metrics::{save_cycle_csv, save_cycle_plot, CycleMetrics};
pub use cyclegan::{CycleGan, CycleGanConfig, CycleTensors, G_AB_EMA, G_BA_EMA};
pub use metrics::{save_csv, save_plot, Pix2PixMetrics};
pub use networks::{
    cycle_discriminator28, patch_discriminator28, resnet_generator28, unet28, PAPER_WIDTH, PATCHES,
    PATCH_SIDE, SIDE,
};
pub use pix2pix::{translate, Pix2Pix, Pix2PixConfig, Pix2PixTensors, TASK_NOTE};
pub use task::{Domains, PairedTask, Pairs, SUPERRES_FACTOR};
