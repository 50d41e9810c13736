//! A kernel is one dispatch with everything bound: pipeline, bind group, workgroup count.
//! They are made when a network is built and only encoded afterwards, so a training step
//! creates nothing.

use std::sync::Arc;

use wgpu::util::DeviceExt;

use crate::gpu::params::ShaderParams;
use crate::gpu::pipelines::{Access, Pipeline};
use crate::gpu::shaders::Shader;
use crate::gpu::texels::Texels;
use crate::gpu::Gpu;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Largest workgroup count in one dimension that every backend accepts.
const MAX_GROUPS: u32 = 65_535;

/// Which entry point of which shader, specialised with which override constants.
pub(crate) struct KernelSpec {
    pub shader: Shader,
    pub entry: &'static str,
    pub constants: Vec<(&'static str, f64)>,
}

impl KernelSpec {
    pub fn new(shader: Shader, entry: &'static str) -> Self {
        KernelSpec {
            shader,
            entry,
            constants: Vec::new(),
        }
    }

    pub fn constant(mut self, name: &'static str, value: f64) -> Self {
        self.constants.push((name, value));
        self
    }
}

/// One binding of a kernel, in binding order.
pub(crate) enum Bind<'a> {
    /// A parameter block (see [`Bind::params`]), uploaded once into a uniform buffer.
    Params {
        bytes: &'a [u8],
        shader: Shader,
        name: &'static str,
    },
    Read(&'a Tensor),
    Write(&'a Tensor),
    /// Texels read (`texture_2d<f32>`) or written (`texture_storage_2d<rgba32float, write>`).
    ReadTexels(&'a Texels),
    WriteTexels(&'a Texels),
}

impl<'a> Bind<'a> {
    /// The parameter block `p`, a WGSL uniform struct's twin.
    pub(crate) fn params<P: ShaderParams>(p: &'a P) -> Bind<'a> {
        Bind::Params {
            bytes: bytemuck::bytes_of(p),
            shader: P::SHADER,
            name: P::STRUCT,
        }
    }
}

/// A recorded dispatch, ready to be encoded any number of times. Cloning shares the
/// pipeline and bind group.
#[derive(Clone)]
pub struct Kernel {
    pipeline: Arc<Pipeline>,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
    label: &'static str,
    /// A dispatch that finishes this one's work (a split product's sum), encoded right after.
    then: Option<Box<Kernel>>,
}

impl Kernel {
    /// Records the dispatch into a compute pass; the first time, it waits for the pipeline's
    /// compilation, and errors if the device refused the pipeline.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>) -> Result<()> {
        for part in self.parts() {
            part.encode_alone(pass)?;
        }
        Ok(())
    }

    /// This dispatch without the ones chained after it.
    pub(crate) fn encode_alone(&self, pass: &mut wgpu::ComputePass<'_>) -> Result<()> {
        pass.set_pipeline(self.pipeline.compiled()?);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.groups[0], self.groups[1], self.groups[2]);
        Ok(())
    }

    /// This dispatch and the ones chained after it, in order.
    pub(crate) fn parts(&self) -> impl Iterator<Item = &Kernel> {
        std::iter::successors(Some(self), |k| k.then.as_deref())
    }

    /// This dispatch (and those chained after it) followed by `next`, as one kernel: for work
    /// that takes several dispatches (wgpu orders them, each reading what the ones before
    /// wrote).
    pub(crate) fn then(mut self, next: Kernel) -> Kernel {
        let mut tail = &mut self.then;
        while let Some(k) = tail {
            tail = &mut k.then;
        }
        *tail = Some(Box::new(next));
        self
    }

    /// How many dispatches encoding this kernel records (two for a split product and its sum).
    pub fn dispatches(&self) -> usize {
        1 + self.then.as_ref().map_or(0, |k| k.dispatches())
    }

    /// The entry point's name, for timing breakdowns.
    pub fn label(&self) -> &'static str {
        self.label
    }
}

/// Errors unless the entry point is one the shader declares and every parameter block is
/// one of the shader's: a kernel named wrongly fails when it is built, not when it runs.
fn check_contract(spec: &KernelSpec, binds: &[Bind<'_>]) -> Result<()> {
    let shader = spec.shader;
    if !shader.entries().contains(&spec.entry) {
        return Err(Error::Gpu {
            context: format!("building kernel {}", spec.entry),
            message: format!("{}.wgsl has no entry point {}", shader.name(), spec.entry),
        });
    }
    for b in binds {
        if let Bind::Params {
            shader: owner,
            name,
            ..
        } = b
        {
            if *owner != shader.declared_by() {
                return Err(Error::Gpu {
                    context: format!("building kernel {}", spec.entry),
                    message: format!(
                        "parameter block {name} belongs to {}.wgsl, not {}.wgsl",
                        owner.name(),
                        shader.name()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Splits a workgroup count over x and y so no dimension exceeds the 65,535 limit;
/// shaders rebuild the linear index from `num_workgroups` and bounds-check it.
pub(crate) fn split_groups(n: u32) -> [u32; 3] {
    let n = n.max(1);
    if n <= MAX_GROUPS {
        [n, 1, 1]
    } else {
        [MAX_GROUPS, n.div_ceil(MAX_GROUPS), 1]
    }
}

impl Gpu {
    /// Builds a kernel: fetches (or creates) the pipeline, uploads the parameters, and makes
    /// the bind group. `groups` is the total workgroup count, split over x and y as needed.
    pub(crate) fn kernel(
        &self,
        spec: KernelSpec,
        binds: &[Bind<'_>],
        groups: u32,
    ) -> Result<Kernel> {
        self.kernel_3d(spec, binds, split_groups(groups))
    }

    /// As [`Gpu::kernel`] with an explicit 3-D grid (e.g. GEMM tiles, batch).
    pub(crate) fn kernel_3d(
        &self,
        spec: KernelSpec,
        binds: &[Bind<'_>],
        groups: [u32; 3],
    ) -> Result<Kernel> {
        check_contract(&spec, binds)?;
        let access: Vec<Access> = binds
            .iter()
            .map(|b| match b {
                Bind::Params { .. } => Access::Uniform,
                Bind::Read(_) => Access::Read,
                Bind::Write(_) => Access::ReadWrite,
                Bind::ReadTexels(_) => Access::Texels,
                Bind::WriteTexels(_) => Access::TexelsWrite,
            })
            .collect();
        self.scoped(spec.entry, || {
            let pipeline = self.pipelines.lock().expect("pipeline cache poisoned").get(
                &self.device,
                spec.shader,
                spec.entry,
                &spec.constants,
                &access,
            );
            // Uniform buffers must hold whole 16-byte rows.
            let uniforms: Vec<Option<wgpu::Buffer>> = binds
                .iter()
                .map(|b| match b {
                    Bind::Params { bytes, .. } => {
                        let mut padded = bytes.to_vec();
                        padded.resize(bytes.len().div_ceil(16).max(1) * 16, 0);
                        Some(
                            self.device
                                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                                    label: Some(spec.entry),
                                    contents: bytemuck::cast_slice(&padded),
                                    usage: wgpu::BufferUsages::UNIFORM,
                                }),
                        )
                    }
                    _ => None,
                })
                .collect();
            let entries: Vec<wgpu::BindGroupEntry> = binds
                .iter()
                .zip(&uniforms)
                .enumerate()
                .map(|(i, (b, u))| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: match b {
                        Bind::Params { .. } => {
                            u.as_ref().expect("uniform made above").as_entire_binding()
                        }
                        Bind::Read(t) | Bind::Write(t) => t.binding(),
                        Bind::ReadTexels(t) | Bind::WriteTexels(t) => {
                            wgpu::BindingResource::TextureView(t.view())
                        }
                    },
                })
                .collect();
            let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(spec.entry),
                layout: &pipeline.layout,
                entries: &entries,
            });
            Kernel {
                pipeline,
                bind_group,
                groups,
                label: spec.entry,
                then: None,
            }
        })
    }

    /// Runs kernels once in their own submission and waits: for tests and one-off work,
    /// never for the training step.
    pub fn run(&self, kernels: &[&Kernel]) -> Result<()> {
        // Scoped, so a dispatch the device refuses is an error here rather than a log line
        // and a silently skipped submission.
        self.scoped("running kernels", || {
            let mut encoder = self.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                for k in kernels {
                    k.encode(&mut pass)?;
                }
            }
            self.queue.submit([encoder.finish()]);
            Ok(())
        })??;
        self.wait()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::optim::AdamParams;

    #[test]
    fn a_kernel_naming_what_its_shader_lacks_is_refused() {
        let adam = AdamParams::default();
        let ok = KernelSpec::new(Shader::Adam, "adam");
        assert!(check_contract(&ok, &[Bind::params(&adam)]).is_ok());
        let typo = KernelSpec::new(Shader::Adam, "adamw");
        let err = check_contract(&typo, &[]).unwrap_err().to_string();
        assert!(err.contains("no entry point adamw"), "{err}");
        let other = KernelSpec::new(Shader::Sgd, "sgd_momentum");
        let err = check_contract(&other, &[Bind::params(&adam)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("belongs to adam.wgsl"), "{err}");
    }
}
