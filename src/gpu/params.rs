//! Shader parameter blocks: every WGSL uniform struct has a `#[repr(C)]` Pod twin on the Rust
//! side, declared with [`shader_params!`], which also records the shader, the WGSL struct's
//! name and each field's name, offset and type, so that a test can hold the two to the same
//! layout through naga's reflection of the WGSL.

use crate::gpu::shaders::Shader;

/// A Rust twin of a WGSL uniform struct.
pub(crate) trait ShaderParams: bytemuck::Pod {
    /// The shader that declares the struct.
    const SHADER: Shader;
    /// The struct's name in the WGSL.
    const STRUCT: &'static str;
    /// Each field's name, byte offset and scalar type (`"u32"` or `"f32"`), in order.
    #[cfg(test)]
    fn fields() -> Vec<(&'static str, usize, &'static str)>;
}

/// Declares a parameter block: `struct Name for Shader::WgslStruct { field: u32, ... }`.
macro_rules! shader_params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident for $shader:ident :: $wgsl:ident {
            $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        $vis struct $name {
            $($(#[$fmeta])* pub(crate) $field: $ty),*
        }

        impl $crate::gpu::params::ShaderParams for $name {
            const SHADER: $crate::gpu::shaders::Shader = $crate::gpu::shaders::Shader::$shader;
            const STRUCT: &'static str = stringify!($wgsl);
            #[cfg(test)]
            fn fields() -> Vec<(&'static str, usize, &'static str)> {
                vec![$((stringify!($field), std::mem::offset_of!($name, $field), stringify!($ty))),*]
            }
        }
    };
}
pub(crate) use shader_params;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use naga::{AddressSpace, ScalarKind, TypeInner};

    use super::ShaderParams;
    use crate::gpu::shaders::Shader;

    /// What the Rust side says of one uniform struct.
    struct Twin {
        shader: Shader,
        name: &'static str,
        size: usize,
        fields: Vec<(&'static str, usize, &'static str)>,
    }

    fn twin<P: ShaderParams>() -> Twin {
        Twin {
            shader: P::SHADER,
            name: P::STRUCT,
            size: std::mem::size_of::<P>(),
            fields: P::fields(),
        }
    }

    /// Every parameter block of the crate.
    fn twins() -> Vec<Twin> {
        use crate::ops::*;
        vec![
            twin::<activation::ActParams>(),
            twin::<optim::AdamParams>(),
            twin::<optim::SgdParams>(),
            twin::<batchnorm::BnParams>(),
            twin::<concat::ConcatParams>(),
            twin::<conv::ConvParams>(),
            twin::<data::GatherParams>(),
            twin::<data::ResizeParams>(),
            twin::<data::RecordParams>(),
            twin::<dropout::DropoutParams>(),
            twin::<elementwise::AxpbyParams>(),
            twin::<feature_matching::FmParams>(),
            twin::<loss::LossParams>(),
            twin::<gemm::GemmParams>(),
            twin::<crate::ops::tiled::TiledParams>(),
            twin::<gemm::Gemm4Params>(),
            twin::<gemm::ReduceParams>(),
            twin::<labels::LabelParams>(),
            twin::<logsumexp::LseParams>(),
            twin::<constraint::MaxNormParams>(),
            twin::<maxout::MaxoutParams>(),
            twin::<minibatch_std::MbstdParams>(),
            twin::<crate::eval::parzen::ParzenParams>(),
            twin::<fade::FadeParams>(),
            twin::<pixel_norm::PixelNormParams>(),
            twin::<instance_norm::InstanceNormParams>(),
            twin::<loss::L1Params>(),
            twin::<morphology::MorphParams>(),
            twin::<peak::PeakParams>(),
            twin::<penalty::LerpParams>(),
            twin::<penalty::NormParams>(),
            twin::<spectral::SpectralParams>(),
            twin::<resample::ResampleParams>(),
            twin::<rng::RngParams>(),
            twin::<sort::SortParams>(),
            twin::<crate::eval::swd::SwdParams>(),
            twin::<softmax::SoftmaxParams>(),
            twin::<stabilise::FlipParams>(),
            twin::<stabilise::NoiseParams>(),
            twin::<stabilise::ReplayParams>(),
            twin::<transpose::TransposeParams>(),
            twin::<conv::lowered::Im2colParams>(),
        ]
    }

    fn module(shader: Shader) -> naga::Module {
        naga::front::wgsl::parse_str(&shader.source())
            .unwrap_or_else(|e| panic!("{}.wgsl: {e}", shader.name()))
    }

    #[test]
    fn every_parameter_block_has_its_wgsl_structs_layout() {
        for t in twins() {
            let m = module(t.shader);
            let what = format!("{}.wgsl {}", t.shader.name(), t.name);
            let ty = m
                .types
                .iter()
                .find(|(_, ty)| ty.name.as_deref() == Some(t.name))
                .unwrap_or_else(|| panic!("{what}: no such struct"))
                .1;
            let TypeInner::Struct { members, span } = &ty.inner else {
                panic!("{what} is not a struct");
            };
            assert_eq!(*span as usize, t.size, "{what}: size");
            let wgsl: Vec<(String, usize, &str)> = members
                .iter()
                .map(|member| {
                    let kind = match m.types[member.ty].inner {
                        TypeInner::Scalar(s) if s.width == 4 && s.kind == ScalarKind::Uint => "u32",
                        TypeInner::Scalar(s) if s.width == 4 && s.kind == ScalarKind::Float => {
                            "f32"
                        }
                        ref other => panic!("{what}: a field of type {other:?}"),
                    };
                    let name = member.name.clone().unwrap_or_default();
                    (name, member.offset as usize, kind)
                })
                .collect();
            let rust: Vec<(String, usize, &str)> = t
                .fields
                .iter()
                .map(|&(name, offset, ty)| (name.to_string(), offset, ty))
                .collect();
            assert_eq!(rust, wgsl, "{what}: fields (name, offset, type)");
        }
    }

    #[test]
    fn every_uniform_block_of_every_shader_has_a_twin() {
        let twins: BTreeSet<(&str, &str)> =
            twins().iter().map(|t| (t.shader.name(), t.name)).collect();
        let mut uniforms = BTreeSet::new();
        for &shader in Shader::ALL {
            let m = module(shader);
            for (_, var) in m.global_variables.iter() {
                if var.space == AddressSpace::Uniform {
                    let name = m.types[var.ty].name.clone().unwrap_or_default();
                    uniforms.insert((shader.declared_by().name(), name));
                }
            }
        }
        let uniforms: BTreeSet<(&str, &str)> =
            uniforms.iter().map(|(s, n)| (*s, n.as_str())).collect();
        assert_eq!(twins, uniforms);
    }

    #[test]
    fn each_shaders_entry_table_lists_exactly_its_entry_points() {
        for &shader in Shader::ALL {
            let m = module(shader);
            let wgsl: BTreeSet<&str> = m.entry_points.iter().map(|e| e.name.as_str()).collect();
            let table: BTreeSet<&str> = shader.entries().iter().copied().collect();
            assert_eq!(table, wgsl, "{}.wgsl", shader.name());
        }
    }
}
