//! The `[batch, channels, spatial]` layout that batch norm, minibatch std and channel
//! concatenation read, the reference's own: its sizes are worked out here, not taken from the
//! kernels' geometry, so a wrong size there is caught by the comparison.

/// A tensor `[batch, channels, spatial]`, row-major (`spatial` is every dimension after the
/// channels flattened; 1 for `[batch, features]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub batch: usize,
    pub channels: usize,
    pub spatial: usize,
}

impl Layout {
    pub fn new(batch: usize, channels: usize, spatial: usize) -> Layout {
        Layout {
            batch,
            channels,
            spatial,
        }
    }

    /// The layout of a tensor of shape `[batch, channels, d1, d2, ...]` (`[batch, features]`
    /// has `spatial = 1`). Panics on fewer than two dimensions.
    pub fn of_shape(shape: &[usize]) -> Layout {
        match shape {
            [batch, channels, rest @ ..] => Layout::new(*batch, *channels, rest.iter().product()),
            _ => panic!("a [batch, channels, ...] layout needs two dimensions, got {shape:?}"),
        }
    }

    /// Index of (sample `n`, channel `c`, position `s`).
    pub fn at(&self, n: usize, c: usize, s: usize) -> usize {
        (n * self.channels + c) * self.spatial + s
    }

    /// Values in one sample: `channels · spatial`.
    pub fn per_sample(&self) -> usize {
        self.channels * self.spatial
    }

    /// Values in one channel across the batch: `batch · spatial`.
    pub fn per_channel(&self) -> usize {
        self.batch * self.spatial
    }

    /// Values in all: `batch · channels · spatial`.
    pub fn len(&self) -> usize {
        self.batch * self.channels * self.spatial
    }

    /// Whether any dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
