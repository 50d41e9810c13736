//! Progressive growing (Karras et al. 2018): G and D start at a low resolution and grow a
//! block at a time, each new block fading in as α rises, the real images shown at the
//! stage's resolution and faded alike. [`ProGan`] gives the networks of each stage,
//! [`Schedule`] when they grow and [`ProgressiveTrainer`] trains them.

mod networks;
mod real;
mod schedule;
mod trainer;

pub use networks::ProGan;
pub use schedule::{Phase, Schedule};
pub use trainer::ProgressiveTrainer;
