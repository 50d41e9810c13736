//! The GAN training step: losses, configuration, the trainer, and metric readback.

pub mod conditional;
mod config;
pub mod dcgan;
mod ema;
mod iteration;
pub mod latent;
pub mod mlp;
mod readback;
pub mod recipes;
mod runner;
mod sample;
pub mod semisup;
pub mod slanted_land;
mod trainer;

pub use config::{GLoss, GanLoss, Noise, TrainerConfig};
pub use ema::EMA_NETWORK;
pub use readback::StepMetrics;
pub use sample::{generate, generate_batched, noise};
pub use trainer::{StepTensors, Trainer};
