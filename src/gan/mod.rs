//! The GAN training step: losses, configuration, the trainer, and metric readback.

mod config;
mod readback;
pub mod slanted_land;
mod trainer;

pub use config::{GLoss, Noise, TrainerConfig};
pub use readback::StepMetrics;
pub use trainer::Trainer;
