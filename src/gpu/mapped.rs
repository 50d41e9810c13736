//! A buffer map as a future, so readback can be awaited: in a browser the map completes
//! only once the page's event loop runs, and nothing there may block on it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct State {
    result: Option<Result<(), wgpu::BufferAsyncError>>,
    waker: Option<Waker>,
}

/// Resolves when a map for reading of `slice` has completed (or failed).
pub(crate) struct Mapped {
    state: Arc<Mutex<State>>,
}

/// Starts mapping `slice` for reading; await the result before reading the mapped range.
pub(crate) fn mapped(slice: &wgpu::BufferSlice<'_>) -> Mapped {
    let state = Arc::new(Mutex::new(State::default()));
    let shared = state.clone();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        s.result = Some(r);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    });
    Mapped { state }
}

impl Future for Mapped {
    type Output = Result<(), wgpu::BufferAsyncError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match s.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
