//! Pictures and logs: PNG sample grids and loss plots.

pub mod grid;
pub mod plot;
