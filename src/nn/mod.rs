//! Layers and networks: a [`Sequential`] describes a model, [`Network`] owns its parameters on
//! the GPU, and a [`Tape`](crate::tape::Tape) is the network applied to one input tensor.

mod init;
mod layer;
mod network;
mod params;
mod sequential;

pub use init::Init;
pub use layer::Layer;
pub use network::{Mode, Network, RngSpec};
pub use params::ParamSet;
pub use sequential::Sequential;
