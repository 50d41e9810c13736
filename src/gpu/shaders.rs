//! Every WGSL file of the crate, embedded in the binary.
//!
//! Each shader is compiled as `common.wgsl` (indexing helpers and the Philox RNG) followed by
//! its own file, so the RNG used by noise, dropout and shuffling is one piece of code. The
//! convolution and vec4 GEMM files and their subgroup variants are each preceded by their
//! shared declarations (`conv_common.wgsl`, `gemm_vec4_common.wgsl`).

macro_rules! shaders {
    ($($variant:ident => $file:literal [$($entry:literal),* $(,)?]),* $(,)?) => {
        /// One WGSL file of `shaders/`.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[allow(missing_docs)] // each variant is its file
        pub enum Shader { $($variant),* }

        impl Shader {
            /// All shaders, for validation tests.
            pub const ALL: &'static [Shader] = &[$(Shader::$variant),*];

            /// The file name without extension.
            pub fn name(self) -> &'static str {
                match self { $(Shader::$variant => $file),* }
            }

            /// The entry points the Rust side may name, which must be the file's all.
            pub fn entries(self) -> &'static [&'static str] {
                match self { $(Shader::$variant => &[$($entry),*]),* }
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
    Gemm => "gemm" ["gemm"],
    Tiled => "tiled" ["tiled_gemm", "tiled_fwd", "tiled_dx", "tiled_dw", "tiled_db", "tiled_sum"],
    GemmVec4 => "gemm_vec4" ["gemm_nn4", "gemm_nt4"],
    GemmSubgroup => "gemm_subgroup" ["gemm_nn4_sg", "gemm_nt4_sg"],
    Reduce => "reduce" ["sum_rows", "sum_all"],
    Activation => "activation" ["relu_fwd", "leaky_relu_fwd", "tanh_fwd", "sigmoid_fwd", "relu_bwd", "leaky_relu_bwd", "tanh_bwd", "sigmoid_bwd", "tanh_curv", "sigmoid_curv", "relu_fwd4", "leaky_relu_fwd4", "relu_bwd4", "leaky_relu_bwd4"],
    Maxout => "maxout" ["maxout_fwd", "maxout_bwd"],
    Dropout => "dropout" ["dropout"],
    Elementwise => "elementwise" ["axpby", "fill"],
    GanLoss => "gan_loss" ["gan_loss"],
    L1 => "l1" ["l1"],
    Adam => "adam" ["adam", "adam4"],
    Sgd => "sgd" ["sgd_momentum"],
    Rng => "rng" ["fill_bits", "fill_uniform", "fill_normal"],
    Data => "data" ["gather", "gather_resized", "gather_labels"],
    Metrics => "metrics" ["record"],
    Conv => "conv" ["conv_fwd", "conv_fwd4", "conv_dx", "conv_dxt", "conv_dxt4", "conv_dw", "conv_db"],
    ConvSubgroup => "conv_subgroup" ["conv_fwd_sg", "conv_dx_sg", "conv_dx_cl_sg", "conv_dw_sg"],
    BatchNorm => "batchnorm" ["bn_train_forward", "bn_eval_forward", "bn_backward", "bn_train_forward_cols", "bn_eval_forward_cols", "bn_backward_cols"],
    Concat => "concat" ["concat_channels", "take_channels"],
    MaxNorm => "max_norm" ["max_norm"],
    Parzen => "parzen" ["parzen_lse"],
    Softmax => "softmax" ["softmax_ce", "softmax"],
    MinibatchStd => "minibatch_std" ["mbstd_columns", "mbstd_finish", "mbstd_grad_sum", "mbstd_backward", "mbstd_tangent_columns", "mbstd_curvature"],
    Stabilise => "stabilise" ["flip_targets", "instance_noise", "replay_mix", "replay_store"],
    Labels => "labels" ["draw_labels", "one_hot"],
    LogSumExp => "logsumexp" ["lse_forward", "lse_backward"],
    FeatureMatching => "feature_matching" ["fm_grad", "fm_loss"],
    Fade => "fade" ["fade_fwd", "fade_grad"],
    PixelNorm => "pixel_norm" ["pixel_norm_fwd", "pixel_norm_bwd"],
    Morphology => "morphology" ["morph"],
    Peak => "peak" ["fma_peak", "fma_peak_conv"],
    InstanceNorm => "instance_norm" ["instance_norm_fwd", "instance_norm_bwd_x", "instance_norm_bwd_params"],
    Resample => "resample" ["upsample_fwd", "upsample_bwd", "avgpool_fwd", "avgpool_bwd"],
    Sort => "sort" ["radix_pass"],
    Swd => "swd" ["abs_diff_rows"],
    Penalty => "penalty" ["interpolate", "norm_penalty"],
    Spectral => "spectral" ["sn_power", "sn_scale", "sn_backward"],
    Transpose => "transpose" ["transpose4"],
    Im2col => "im2col" ["im2col_rows", "im2col_cols", "to_channel_major", "to_channels_last"],
}

/// The shared helpers every shader is compiled with.
pub const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// The declarations both convolution files are compiled on.
const CONV_COMMON: &str = include_str!("../../shaders/conv_common.wgsl");

/// The declarations both vec4 GEMM files are compiled on.
const GEMM_VEC4_COMMON: &str = include_str!("../../shaders/gemm_vec4_common.wgsl");

/// Files that are only compiled as part of others, not shaders of their own.
pub const INCLUDES: &[&str] = &["common", "conv_common", "gemm_vec4_common"];

impl Shader {
    /// Shaders compiled without naga's runtime bounds checks and loop counters: each one
    /// clamps its own loads and guards its stores (see `pipelines.rs`).
    pub fn is_trusted(self) -> bool {
        matches!(
            self,
            Shader::Gemm
                | Shader::Tiled
                | Shader::GemmVec4
                | Shader::GemmSubgroup
                | Shader::Conv
                | Shader::ConvSubgroup
                | Shader::Sort
                | Shader::Peak
        )
    }

    /// Whether the shader uses subgroup operations: only devices with
    /// `wgpu::Features::SUBGROUP` compile it.
    pub fn needs_subgroups(self) -> bool {
        matches!(self, Shader::ConvSubgroup | Shader::GemmSubgroup)
    }

    /// The shader whose declarations (and so parameter block) this one is compiled on.
    pub fn declared_by(self) -> Shader {
        match self {
            Shader::ConvSubgroup => Shader::Conv,
            Shader::GemmSubgroup => Shader::GemmVec4,
            s => s,
        }
    }

    /// What is compiled between `common.wgsl` and the shader's own file.
    fn prelude(self) -> &'static str {
        match self.declared_by() {
            Shader::Conv => CONV_COMMON,
            Shader::GemmVec4 => GEMM_VEC4_COMMON,
            _ => "",
        }
    }

    /// The complete WGSL source handed to the device.
    pub fn source(self) -> String {
        format!("{COMMON}\n{}\n{}", self.prelude(), self.body())
    }
}
