//! The GAN training step: losses, configuration, the trainer, and metric readback.

mod config;
pub mod dcgan;
mod readback;
mod sample;
pub mod slanted_land;
mod trainer;

pub use config::{GLoss, Noise, TrainerConfig};
pub use readback::StepMetrics;
pub use sample::{generate, noise};
pub use trainer::Trainer;
