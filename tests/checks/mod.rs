//! Kernel checks against the f64 references, written once as async functions: the native
//! tests block on them, the browser tests (`tests/browser.rs`) await them, so both targets
//! hold the kernels to the same tolerances.
#![allow(dead_code)]

pub mod adam;
pub mod batchnorm;
pub mod conv;
pub mod gemm;
pub mod loss;
pub mod shipped_generator;
