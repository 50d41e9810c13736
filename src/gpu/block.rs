//! Blocking on the library's async core: natively by polling the device, in a browser never,
//! since nothing there may block the page.

use std::future::Future;

#[cfg(target_arch = "wasm32")]
use crate::Error;
use crate::Result;

/// Runs `work` to completion on this thread (native).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn block_on<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    pollster::block_on(work)
}

/// In a browser a blocking call is an error that names the async one to await instead.
#[cfg(target_arch = "wasm32")]
pub(crate) fn block_on<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    drop(work);
    Err(Error::Gpu {
        context: "waiting for the GPU".into(),
        message: "a blocking call cannot run in a browser: await its `_async` twin \
                  (e.g. Tensor::read_async)"
            .into(),
    })
}
