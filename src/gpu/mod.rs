//! The GPU side: context, shaders, pipelines and the recorded dispatches of a step.

mod block;
mod context;
pub(crate) mod kernel;
mod mapped;
pub(crate) mod params;
pub(crate) mod pipelines;
#[doc(hidden)] // for the shader validation tests
pub mod shaders;
pub(crate) mod texels;

pub(crate) use block::block_on;
pub use context::{Gpu, Layouts, ADAPTER_ENV, CPU_LOOP_LIMIT, LAYOUTS_ENV, SUBGROUPS_ENV};
pub use kernel::Kernel;
pub(crate) use kernel::{Bind, KernelSpec};
pub(crate) use mapped::mapped;
#[doc(hidden)]
pub use pipelines::Access;
