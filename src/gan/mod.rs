//! The GAN training step: losses, configuration, the trainer, and metric readback.

pub mod conditional;
mod config;
pub mod dcgan;
mod ema;
mod iteration;
pub mod latent;
pub mod mlp;
pub mod progressive;
pub mod recipe;
pub mod recipes;
mod run;
mod sample;
pub mod semisup;
pub mod slanted_land;
mod stabilisers;
pub mod streams;
mod trainer;
pub mod translation;

pub use crate::metrics::StepMetrics;
pub use config::{GLoss, GanLoss, GradientPenalty, Noise, TrainerConfig};
pub use ema::EMA_NETWORK;
pub use recipe::TrainingRecipe;
pub use run::GanRun;
pub use sample::{generate, generate_at, generate_at_async, generate_batched, noise};
pub use trainer::{StepTensors, Trainer};
