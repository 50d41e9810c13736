//! A training step recorded once and replayed: the state every recorded kernel reads, the
//! recorder that collects one step's kernels, and the replayer that submits them once per
//! step and brings the logged metrics back without waiting for the GPU. Every trainer (the
//! GANs, the semi-supervised GAN, the classifier) records and replays through these.

mod readback;
mod recorder;
mod replayer;
mod state;

pub(crate) use readback::{Logged, Row};
pub(crate) use recorder::Recorder;
pub(crate) use replayer::Replayer;
pub use state::StepState;
