//! The GPU context: adapter selection, device creation, and wrapping a host's own device.

use std::sync::{Arc, Mutex};

use crate::distributed::{Collective, Shard};
use crate::gpu::pipelines::PipelineCache;
use crate::{Error, Result};

/// Features used for per-kernel timing when the adapter has them.
pub(crate) const PROFILING: wgpu::Features =
    wgpu::Features::TIMESTAMP_QUERY.union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES);

/// Subgroup operations: the convolutions' variants for CPU adapters use them where the
/// device has them (see `shaders/conv_subgroup.wgsl`).
const SUBGROUPS: wgpu::Features = wgpu::Features::SUBGROUP;

/// Lanes of a workgroup in the CPU-adapter layouts, which the subgroup variants need to be
/// exactly one subgroup.
const CPU_LANES: u32 = 8;

/// Environment variable holding a substring of the adapter name to pick (case-insensitive).
pub const ADAPTER_ENV: &str = "COUNTERFEIT_ADAPTER";

/// Environment variable that, set to `off` (or `0`, `false`, `no`), keeps every handle on the plain kernels
/// instead of their subgroup variants, as [`Gpu::with_subgroups`]`(false)` does: e.g. to
/// reproduce a run recorded before the variants existed, bit for bit.
pub const SUBGROUPS_ENV: &str = "COUNTERFEIT_SUBGROUPS";

/// Environment variable that, set to `gpu` or `cpu`, makes every handle build that kind's
/// kernel layouts whatever the adapter, as [`Gpu::with_layouts`] does: e.g. to train with the
/// GPU layouts on a CPU adapter and compare the runs.
pub const LAYOUTS_ENV: &str = "COUNTERFEIT_LAYOUTS";

/// Loop iterations per shader invocation on CPU adapters; see [`Gpu::loop_limit`].
pub const CPU_LOOP_LIMIT: usize = 65_535;

/// Which kernel layouts a [`Gpu`] builds. Kernels come in two layouts: for GPUs (wide
/// workgroups; the GEMM and convolutions as one workgroup-memory-tiled product with K split
/// over workgroups where the output is small) and for CPU adapters such as lavapipe (8-lane
/// workgroups, full register tiles, loops kept below the adapter's loop limit). Both compute
/// the same values to rounding; the adapter's own kind is the fast one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layouts {
    /// The layouts for the adapter's kind (the default).
    #[default]
    Adapter,
    /// GPU layouts on any adapter: e.g. to test on a CPU adapter what GPUs run. On a CPU
    /// adapter, a batch-norm shape whose loops would pass its loop limit is an error.
    Gpu,
    /// CPU-adapter layouts on any adapter.
    Cpu,
}

/// A wgpu device and queue plus what counterfeit needs to know about them.
///
/// Cheap to clone: all clones share the device, queue and pipeline cache.
#[derive(Clone)]
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pub(crate) pipelines: Arc<Mutex<PipelineCache>>,
    layouts: Layouts,
    /// Whether kernels may use subgroup operations where the device has them.
    subgroups: bool,
    /// The processes this one trains with, data-parallel; `None` alone.
    group: Option<Arc<dyn Collective>>,
}

impl Gpu {
    /// Picks an adapter and opens a device on it.
    ///
    /// `WGPU_BACKEND` (vulkan, gl, metal, dx12) restricts the backends searched and
    /// `COUNTERFEIT_ADAPTER` picks the first adapter whose name contains the given text.
    /// Without either, a discrete GPU is preferred over an integrated one over a CPU adapter.
    ///
    /// Native only; in a browser, await [`Gpu::new_async`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new() -> Result<Gpu> {
        pollster::block_on(Self::open(0))
    }

    /// As [`Gpu::new`] without blocking: the way to open a device in a browser, where the
    /// page's WebGPU adapter is the one there is.
    pub async fn new_async() -> Result<Gpu> {
        Self::open(0).await
    }

    /// As [`Gpu::new`] for one of several processes on a machine: without
    /// `COUNTERFEIT_ADAPTER`, process `local` takes the `local`-th adapter in order of
    /// preference (wrapping around when there are fewer adapters than processes).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn for_local_rank(local: usize) -> Result<Gpu> {
        pollster::block_on(Self::open(local))
    }

    async fn open(local: usize) -> Result<Gpu> {
        // Without WGPU_BACKEND, look at the native APIs first and only start GL (which probes
        // windowing systems) when none of them has an adapter.
        let adapters = match wgpu::Backends::from_env() {
            Some(backends) => enumerate(backends).await,
            None => {
                let native = enumerate(wgpu::Backends::PRIMARY).await;
                if native.is_empty() {
                    enumerate(wgpu::Backends::SECONDARY).await
                } else {
                    native
                }
            }
        };
        let wanted = std::env::var(ADAPTER_ENV).ok().filter(|s| !s.is_empty());
        let seen: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?})", i.name, i.backend)
            })
            .collect();
        let adapter = match &wanted {
            Some(name) => adapters
                .into_iter()
                .find(|a| {
                    a.get_info()
                        .name
                        .to_lowercase()
                        .contains(&name.to_lowercase())
                })
                .ok_or_else(|| Error::NoAdapter {
                    detail: format!(
                        " whose name contains {name:?} (set by {ADAPTER_ENV}); adapters present: [{}]",
                        seen.join(", ")
                    ),
                })?,
            None if local == 0 => adapters
                .into_iter()
                .max_by_key(|a| preference(&a.get_info()))
                .ok_or_else(|| Error::NoAdapter {
                    detail: match std::env::var("WGPU_BACKEND") {
                        Ok(b) => format!(" for WGPU_BACKEND={b}"),
                        Err(_) => String::new(),
                    },
                })?,
            None => {
                let mut ranked = adapters;
                ranked.sort_by_key(|a| std::cmp::Reverse(preference(&a.get_info())));
                let count = ranked.len().max(1);
                ranked
                    .into_iter()
                    .nth(local % count)
                    .ok_or_else(|| Error::NoAdapter {
                        detail: String::new(),
                    })?
            }
        };
        let info = adapter.get_info();
        // Ask for what the adapter really has: downlevel defaults allow only 4 storage
        // buffers per stage and 128 MiB bindings, too few for fused kernels and datasets.
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("counterfeit"),
                // Timestamps inside passes give benchmarks a per-kernel breakdown; subgroups
                // speed up the convolutions on CPU adapters. Both optional.
                required_features: adapter.features() & (PROFILING | SUBGROUPS),
                required_limits: limits,
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::Device(format!("{} ({:?}): {e}", info.name, info.backend)))?;
        log::info!(
            "counterfeit: using adapter {} ({:?}, {:?})",
            info.name,
            info.backend,
            info.device_type
        );
        // wgpu's default handler panics on any validation error; we catch errors in scopes
        // where we create things, and anything that escapes is logged rather than aborting.
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
            log::error!("counterfeit: uncaptured GPU error: {e}");
        }));
        Ok(Self::wrap(device, queue, info))
    }

    /// Wraps a device and queue that a host program already owns, so counterfeit can train
    /// and sample inside another wgpu program; tensors expose their buffers for the host's
    /// own passes. `info` describes the adapter (from `Adapter::get_info`).
    ///
    /// The host's uncaptured-error handler is left as it is: counterfeit catches the errors of
    /// what it creates in error scopes and returns them as [`Error`](crate::Error)s.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Gpu {
        Self::wrap(device, queue, info)
    }

    fn wrap(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Gpu {
        let backend = info.backend;
        Gpu {
            device,
            queue,
            info,
            pipelines: Arc::new(Mutex::new(PipelineCache::new(backend))),
            layouts: match std::env::var(LAYOUTS_ENV).as_deref() {
                Ok("gpu") => Layouts::Gpu,
                Ok("cpu") => Layouts::Cpu,
                _ => Layouts::Adapter,
            },
            subgroups: !matches!(
                std::env::var(SUBGROUPS_ENV).as_deref(),
                Ok("off" | "0" | "false" | "no")
            ),
            group: None,
        }
    }

    /// The wgpu device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The adapter's description.
    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// "name (backend)", for logs and benchmark tables.
    pub fn describe(&self) -> String {
        format!("{} ({:?})", self.info.name, self.info.backend)
    }

    /// Whether the adapter runs shaders on the CPU (lavapipe, llvmpipe, WARP): kernels then
    /// use register-blocked variants without shared memory.
    pub fn is_cpu(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
            || self.info.name.to_lowercase().contains("llvmpipe")
    }

    /// The same device building kernels in `layouts`; kernels built before keep theirs.
    pub fn with_layouts(&self, layouts: Layouts) -> Gpu {
        Gpu {
            layouts,
            ..self.clone()
        }
    }

    /// The same device building kernels with subgroup operations where the device has them
    /// (`true`, the default) or never (`false`: e.g. to compare the two variants of a kernel,
    /// which compute the same values). Kernels built before keep theirs.
    pub fn with_subgroups(&self, allowed: bool) -> Gpu {
        Gpu {
            subgroups: allowed,
            ..self.clone()
        }
    }

    /// Whether kernels built on this handle use their subgroup variants: in the CPU-adapter
    /// layouts, when allowed (see [`Gpu::with_subgroups`]), the device has subgroup
    /// operations, and a subgroup is exactly a workgroup of those layouts (8 lanes).
    pub fn subgroup_kernels(&self) -> bool {
        self.subgroups
            && self.cpu_layouts()
            && self.device.features().contains(SUBGROUPS)
            && self.info.subgroup_min_size == CPU_LANES
            && self.info.subgroup_max_size == CPU_LANES
    }

    /// The same device as one rank of `group`: every trainer recorded on the returned handle
    /// trains data-parallel with the group's other ranks (see [`crate::distributed`]).
    pub fn in_group(&self, group: Arc<dyn Collective>) -> Gpu {
        Gpu {
            group: Some(group),
            ..self.clone()
        }
    }

    /// The group this handle trains in, if any.
    pub fn group(&self) -> Option<&Arc<dyn Collective>> {
        self.group.as_ref()
    }

    /// This process's place in its group (rank 0 of 1 without one).
    pub fn shard(&self) -> Shard {
        match &self.group {
            Some(g) => Shard {
                rank: g.rank(),
                ranks: g.ranks(),
            },
            None => Shard::ALONE,
        }
    }

    /// The kernel layouts this handle builds.
    pub fn layouts(&self) -> Layouts {
        self.layouts
    }

    /// Whether kernels are built in the CPU-adapter layouts.
    pub(crate) fn cpu_layouts(&self) -> bool {
        match self.layouts {
            Layouts::Adapter => self.is_cpu(),
            Layouts::Gpu => false,
            Layouts::Cpu => true,
        }
    }

    /// The most loop iterations one shader invocation may take on this adapter, if limited.
    /// llvmpipe (Mesa's CPU driver, also under lavapipe) silently leaves every loop of an
    /// invocation once the invocation has taken 65,535 iterations in total, counting each
    /// loop's exit test; kernels that loop over data stay below it on CPU adapters.
    pub fn loop_limit(&self) -> Option<usize> {
        self.is_cpu().then_some(CPU_LOOP_LIMIT)
    }

    /// Whether the device can time individual dispatches.
    pub fn can_profile(&self) -> bool {
        self.device.features().contains(PROFILING)
    }

    /// How many distinct compute pipelines have been created (they are cached).
    pub fn pipeline_count(&self) -> usize {
        self.pipelines.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// Checks a buffer size against the device's limits, naming the layer on failure.
    pub(crate) fn check_size(&self, layer: &str, bytes: u64) -> Result<()> {
        let limits = self.device.limits();
        if bytes > limits.max_buffer_size {
            return Err(Error::TooLarge {
                layer: layer.to_string(),
                size: bytes,
                limit_name: "max_buffer_size",
                limit: limits.max_buffer_size,
            });
        }
        if bytes > limits.max_storage_buffer_binding_size {
            return Err(Error::TooLarge {
                layer: layer.to_string(),
                size: bytes,
                limit_name: "max_storage_buffer_binding_size",
                limit: limits.max_storage_buffer_binding_size,
            });
        }
        Ok(())
    }

    /// Runs `f`. In a browser a scope's result arrives only after the event loop has run, and nothing
    /// may block on it: there errors go to the device's uncaptured-error handler, which logs
    /// them to the console.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn scoped<T>(&self, _context: &str, f: impl FnOnce() -> T) -> Result<T> {
        Ok(f())
    }

    /// Runs `f` inside a validation and out-of-memory error scope and turns what the
    /// scopes caught into an error naming `context`.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn scoped<T>(&self, context: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        match v.or(o) {
            Some(e) => Err(Error::Gpu {
                context: context.to_string(),
                message: e.to_string(),
            }),
            None => Ok(value),
        }
    }

    /// Blocks until all submitted work has finished. In a browser it cannot block and returns
    /// at once: await a readback ([`Tensor::read_async`](crate::Tensor::read_async)) instead.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Gpu {
                context: "waiting for the queue".into(),
                message: e.to_string(),
            })
    }
}

async fn enumerate(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    wgpu::Instance::new(desc).enumerate_adapters(backends).await
}

/// Real GPUs before CPU adapters; among equals, the native API before GL.
fn preference(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 1,
        _ => 0,
    };
    (device_rank(info.device_type), backend)
}

fn device_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 4,
        wgpu::DeviceType::IntegratedGpu => 3,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 1,
        wgpu::DeviceType::Cpu => 0,
    }
}
