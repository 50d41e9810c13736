//! Data sets: IDX files (MNIST, Fashion-MNIST) read on the CPU, uploaded to the GPU once.

mod dataset;
pub mod idx;

pub use dataset::{DataSource, Dataset};
