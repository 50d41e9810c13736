//! Every WGSL file of the crate, embedded in the binary.
//!
//! Each shader is compiled as `common.wgsl` (indexing helpers and the Philox RNG) followed by
//! its own file, so the RNG used by noise, dropout and shuffling is one piece of code.

macro_rules! shaders {
    ($($variant:ident => $file:literal),* $(,)?) => {
        /// One WGSL file of `shaders/`.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Shader { $($variant),* }

        impl Shader {
            /// All shaders, for validation tests.
            pub const ALL: &'static [Shader] = &[$(Shader::$variant),*];

            /// The file name without extension.
            pub fn name(self) -> &'static str {
                match self { $(Shader::$variant => $file),* }
            }

            fn body(self) -> &'static str {
                match self {
                    $(Shader::$variant => include_str!(concat!("../../shaders/", $file, ".wgsl"))),*
                }
            }
        }
    };
}

shaders! {
    Gemm => "gemm",
    GemmVec4 => "gemm_vec4",
    Reduce => "reduce",
    Activation => "activation",
    Maxout => "maxout",
    Dropout => "dropout",
    Elementwise => "elementwise",
    GanLoss => "gan_loss",
    Adam => "adam",
    Sgd => "sgd",
    Rng => "rng",
    Data => "data",
    Metrics => "metrics",
    Conv => "conv",
    BatchNorm => "batchnorm",
    Concat => "concat",
    MaxNorm => "max_norm",
    Parzen => "parzen",
    Softmax => "softmax",
    MinibatchStd => "minibatch_std",
    Stabilise => "stabilise",
    Labels => "labels",
    LogSumExp => "logsumexp",
    FeatureMatching => "feature_matching",
}

/// The shared helpers every shader is compiled with.
pub const COMMON: &str = include_str!("../../shaders/common.wgsl");

impl Shader {
    /// Shaders compiled without naga's runtime bounds checks and loop counters: each one
    /// clamps its own loads and guards its stores (see `pipelines.rs`).
    pub fn is_trusted(self) -> bool {
        matches!(self, Shader::Gemm | Shader::GemmVec4 | Shader::Conv)
    }

    /// The complete WGSL source handed to the device.
    pub fn source(self) -> String {
        format!("{COMMON}\n{}", self.body())
    }
}
