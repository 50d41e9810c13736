//! Data sets: IDX files (MNIST, Fashion-MNIST) read on the CPU, uploaded to the GPU once, and
//! bilinear resizing.

mod dataset;
pub mod idx;
pub mod resize;

pub use dataset::{DataSource, Dataset};
