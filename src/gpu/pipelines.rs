//! Compute pipelines, created once per (shader, entry point, constants, bindings) and shared.
//!
//! Natively each pipeline compiles on a worker thread while recording goes on: a CPU adapter
//! spends up to a second on one large register-tiled kernel even with its shader cache warm,
//! and a network needs a dozen of them. The first encode of a kernel waits for its pipeline.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::gpu::shaders::Shader;
use crate::{Error, Result};

/// How a kernel sees one binding; bindings are numbered in order in group 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Access {
    /// A parameter block.
    Uniform,
    /// A storage buffer the kernel only reads.
    Read,
    /// A storage buffer the kernel writes.
    ReadWrite,
    /// Texels the kernel reads (`texture_2d<f32>`, see `gpu::texels`).
    Texels,
    /// Texels the kernel writes (`texture_storage_2d<rgba32float, write>`).
    TexelsWrite,
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
    pub layout: wgpu::BindGroupLayout,
    entry: &'static str,
    /// Set once compilation ends: the pipeline, or what the device said against it.
    compiled: OnceLock<std::result::Result<wgpu::ComputePipeline, String>>,
}

impl Pipeline {
    /// The compiled pipeline, once its compilation has ended; an error if the device
    /// refused it.
    pub fn compiled(&self) -> Result<&wgpu::ComputePipeline> {
        self.compiled.wait().as_ref().map_err(|message| Error::Gpu {
            context: format!("compiling kernel {}", self.entry),
            message: message.clone(),
        })
    }
}

#[derive(Default)]
pub struct PipelineCache {
    modules: HashMap<Shader, wgpu::ShaderModule>,
    pipelines: HashMap<Key, Arc<Pipeline>>,
    /// Where pipelines compile aside; `None`: in the caller.
    #[cfg(not(target_arch = "wasm32"))]
    workers: Option<Arc<workers::Slots>>,
}

impl PipelineCache {
    /// A cache for a device of `backend`. Pipelines compile on worker threads except on GL,
    /// whose one context serialises compilation anyway (and whose context lock gives up
    /// behind a long compile), and in a browser, whose GPU process compiles.
    #[cfg_attr(target_arch = "wasm32", allow(unused_variables))]
    pub fn new(backend: wgpu::Backend) -> PipelineCache {
        PipelineCache {
            #[cfg(not(target_arch = "wasm32"))]
            workers: (backend != wgpu::Backend::Gl).then(Default::default),
            ..Default::default()
        }
    }

    /// The pipeline for this entry point, created on first use (compiling aside: see the
    /// module comment).
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
                ty: binding_type(*a),
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
        let p = Arc::new(Pipeline {
            layout,
            entry,
            compiled: OnceLock::new(),
        });
        let job = Compile {
            device: device.clone(),
            layout: pipeline_layout,
            module: module.clone(),
            constants: constants.to_vec(),
            pipeline: p.clone(),
        };
        #[cfg(not(target_arch = "wasm32"))]
        match &self.workers {
            Some(slots) => workers::spawn(slots, job),
            // The caller's error scope catches what the device says against it.
            None => job.finish(Ok(job.create())),
        }
        #[cfg(target_arch = "wasm32")]
        job.finish(Ok(job.create()));
        self.pipelines.insert(key, p.clone());
        p
    }

    /// How many distinct pipelines exist (for start-up reports).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.pipelines.len()
    }
}

/// Everything one pipeline's compilation needs, owned, so it can run on another thread.
struct Compile {
    device: wgpu::Device,
    layout: wgpu::PipelineLayout,
    module: wgpu::ShaderModule,
    constants: Vec<(&'static str, f64)>,
    pipeline: Arc<Pipeline>,
}

impl Compile {
    fn create(&self) -> wgpu::ComputePipeline {
        let entry = self.pipeline.entry;
        self.device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&self.layout),
                module: &self.module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &self.constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            })
    }

    fn finish(&self, result: std::result::Result<wgpu::ComputePipeline, String>) {
        let _ = self.pipeline.compiled.set(result);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod workers {
    //! At most as many compilations at once as the host has cores: more would only share
    //! the cores and hold more compiler memory.

    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::{Arc, Condvar, Mutex};

    use super::Compile;

    #[derive(Default)]
    pub(super) struct Slots {
        busy: Mutex<usize>,
        freed: Condvar,
    }

    impl Slots {
        fn acquire(&self, limit: usize) {
            let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
            while *busy >= limit {
                busy = self.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
            }
            *busy += 1;
        }

        fn release(&self) {
            *self.busy.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            self.freed.notify_one();
        }
    }

    /// Compiles `job` on a new thread once a slot is free. Whatever happens, the pipeline
    /// ends up compiled or with an error, so nothing waits for it forever.
    pub(super) fn spawn(slots: &Arc<Slots>, job: Compile) {
        let slots = slots.clone();
        let limit = std::thread::available_parallelism().map_or(1, |n| n.get());
        let job = Arc::new(job);
        let worker = job.clone();
        let spawned = std::thread::Builder::new()
            .name("counterfeit-compile".into())
            .spawn(move || {
                slots.acquire(limit);
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    // Error scopes are per thread: this one sees this pipeline's errors only.
                    let scope = worker
                        .device
                        .push_error_scope(wgpu::ErrorFilter::Validation);
                    let pipeline = worker.create();
                    match pollster::block_on(scope.pop()) {
                        None => Ok(pipeline),
                        Some(e) => Err(e.to_string()),
                    }
                }));
                slots.release();
                worker.finish(outcome.unwrap_or_else(|_| Err("its compilation panicked".into())));
            });
        if let Err(e) = spawned {
            job.finish(Err(format!("no thread to compile it on: {e}")));
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::Gpu;

    const ADAM: [Access; 6] = [
        Access::Uniform,
        Access::Read,
        Access::ReadWrite,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ];

    #[test]
    fn pipelines_compiled_aside_arrive_or_say_why_not() {
        let gpu = Gpu::new().unwrap();
        let mut cache = PipelineCache {
            workers: Some(Default::default()),
            ..Default::default()
        };
        let good = cache.get(gpu.device(), Shader::Adam, "adam", &[], &ADAM);
        assert!(good.compiled().is_ok());
        // Asked again, the same pipeline, not a second compilation.
        let again = cache.get(gpu.device(), Shader::Adam, "adam", &[], &ADAM);
        assert!(Arc::ptr_eq(&good, &again));
        // A constant the shader does not declare: the device refuses the pipeline, and the
        // kernel's first encode says so instead of waiting forever.
        let bad = cache.get(
            gpu.device(),
            Shader::Adam,
            "adam",
            &[("NO_SUCH", 1.0)],
            &ADAM,
        );
        let err = bad.compiled().expect_err("refused").to_string();
        assert!(err.contains("compiling kernel adam"), "{err}");
        assert_eq!(cache.len(), 2);
    }
}

/// The layout entry of a binding seen as `access`.
fn binding_type(access: Access) -> wgpu::BindingType {
    let buffer = |ty| wgpu::BindingType::Buffer {
        ty,
        has_dynamic_offset: false,
        min_binding_size: None,
    };
    match access {
        Access::Uniform => buffer(wgpu::BufferBindingType::Uniform),
        Access::Read => buffer(wgpu::BufferBindingType::Storage { read_only: true }),
        Access::ReadWrite => buffer(wgpu::BufferBindingType::Storage { read_only: false }),
        Access::Texels => wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        Access::TexelsWrite => wgpu::BindingType::StorageTexture {
            access: wgpu::StorageTextureAccess::WriteOnly,
            format: wgpu::TextureFormat::Rgba32Float,
            view_dimension: wgpu::TextureViewDimension::D2,
        },
    }
}
