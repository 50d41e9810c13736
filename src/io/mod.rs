//! Pictures and logs: PNG sample grids and loss plots.

pub(crate) mod atomic;
pub mod checkpoint;
pub mod digit_image;
pub(crate) mod fingerprint;
pub mod grid;
pub mod metrics_log;
pub mod plot;
