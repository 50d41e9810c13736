//! Layers and networks: a [`Graph`] describes a model ([`Sequential`] builds the chain case,
//! [`GraphBuilder`] any other), [`Network`] owns its parameters on the GPU, and a
//! [`Tape`](crate::tape::Tape) is the network applied to input tensors. Each layer kind lives
//! in its own file under `layers/`.

mod builder;
mod carry;
pub(crate) mod graph;
mod init;
pub(crate) mod layers;
mod network;
mod params;
mod sequential;
mod spectral_init;
mod state_dict;

pub use builder::{GraphBuilder, Node};
pub use graph::{Graph, Op, Source};
pub use init::Init;
pub use layers::Layer;
pub use network::{Mode, Network, RngSpec};
pub use params::ParamSet;
pub use sequential::Sequential;
