//! Compute pipelines, created once per (shader, entry point, constants, bindings) and shared.

use std::collections::HashMap;
use std::sync::Arc;

use crate::gpu::shaders::Shader;

/// How a kernel sees one binding; bindings are numbered in order in group 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Access {
    /// A parameter block.
    Uniform,
    /// A storage buffer the kernel only reads.
    Read,
    /// A storage buffer the kernel writes.
    ReadWrite,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    shader: Shader,
    entry: &'static str,
    constants: Vec<(&'static str, u64)>,
    bindings: Vec<Access>,
}

/// A pipeline with the bind-group layout its bind groups are made from.
pub struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

#[derive(Default)]
pub struct PipelineCache {
    modules: HashMap<Shader, wgpu::ShaderModule>,
    pipelines: HashMap<Key, Arc<Pipeline>>,
}

impl PipelineCache {
    /// The pipeline for this entry point, created on first use.
    pub fn get(
        &mut self,
        device: &wgpu::Device,
        shader: Shader,
        entry: &'static str,
        constants: &[(&'static str, f64)],
        bindings: &[Access],
    ) -> Arc<Pipeline> {
        let key = Key {
            shader,
            entry,
            constants: constants.iter().map(|(k, v)| (*k, v.to_bits())).collect(),
            bindings: bindings.to_vec(),
        };
        if let Some(p) = self.pipelines.get(&key) {
            return p.clone();
        }
        let module = self.modules.entry(shader).or_insert_with(|| {
            let desc = wgpu::ShaderModuleDescriptor {
                label: Some(shader.name()),
                source: wgpu::ShaderSource::Wgsl(shader.source().into()),
            };
            if shader.is_trusted() {
                // SAFETY: `Shader::is_trusted` lists only shaders whose every load clamps its
                // index into the bound range, whose stores are guarded by the sizes the Rust
                // side checked against the bound tensors, and whose loops have bounds from
                // those sizes. Naga's added index clamps and loop counters are then pure cost
                // (they keep CPU compilers from unrolling the register-blocked inner loops).
                unsafe {
                    device
                        .create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
                }
            } else {
                device.create_shader_module(desc)
            }
        });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
            .iter()
            .enumerate()
            .map(|(i, a)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match a {
                        Access::Uniform => wgpu::BufferBindingType::Uniform,
                        Access::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Access::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(entry),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(entry),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&pipeline_layout),
            module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        let p = Arc::new(Pipeline { pipeline, layout });
        self.pipelines.insert(key, p.clone());
        p
    }

    /// How many distinct pipelines exist (for start-up reports).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.pipelines.len()
    }
}
