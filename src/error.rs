//! The one error type of the crate: every mistake a user can make comes back as one of these.

use std::path::PathBuf;

/// What went wrong, with the context needed to fix it.
#[derive(thiserror::Error)]
pub enum Error {
    /// No adapter matched (or none exists at all).
    #[error(
        "no GPU adapter found{detail}. counterfeit needs a Vulkan, Metal, DX12 or GL driver; \
         on Linux without a GPU install Mesa's software Vulkan driver: `apt-get install mesa-vulkan-drivers`"
    )]
    NoAdapter {
        /// Which adapters were looked for, when restricted.
        detail: String,
    },

    /// The adapter refused to open a device.
    #[error("could not open the GPU device: {0}")]
    Device(String),

    /// A buffer would exceed one of the device's limits.
    #[error(
        "{layer}: needs a buffer of {size} bytes but the device allows {limit} bytes ({limit_name}); \
         use a smaller batch or layer"
    )]
    TooLarge {
        /// The layer or tensor that needs the buffer.
        layer: String,
        /// Bytes it needs.
        size: u64,
        /// The wgpu limit it exceeds.
        limit_name: &'static str,
        /// The device's value of that limit.
        limit: u64,
    },

    /// Shapes that do not fit together.
    #[error("{op}: {detail}")]
    Shape {
        /// The operation, layer or node that checked.
        op: String,
        /// The shapes involved and what was expected.
        detail: String,
    },

    /// A wgpu validation or out-of-memory error caught in an error scope.
    #[error("GPU error while {context}: {message}")]
    Gpu {
        /// What was being done.
        context: String,
        /// wgpu's message.
        message: String,
    },

    /// A loss became NaN or infinite.
    #[error("training diverged at step {step}: {what} is {value}")]
    Diverged {
        /// The 1-based step whose metrics first held the value.
        step: u64,
        /// Which metric.
        what: String,
        /// The value (NaN or an infinity).
        value: f32,
    },

    /// A data file that is not what it claims to be.
    #[error("{path}: {message}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A configuration value out of range.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// Data-parallel training could not start or a rank failed.
    #[error("distributed training: {0}")]
    Distributed(String),

    /// An image that could not be encoded.
    #[error("could not write image {path}: {message}")]
    Image {
        /// The file.
        path: PathBuf,
        /// The encoder's message.
        message: String,
    },
}

/// The message, as `Display` gives it: `fn main() -> counterfeit::Result<()>` prints an error
/// with `Debug`, and a user should read a sentence there, not the enum's fields.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn shape(op: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Shape {
            op: op.into(),
            detail: detail.into(),
        }
    }
}
