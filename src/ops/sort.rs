//! Sorting many rows of f32 at once on the GPU: a bitonic network, one dispatch per stage
//! (`shaders/sort.wgsl`), so that no invocation loops (the CPU adapter silently cuts an
//! invocation's loops short after 65,535 iterations). Rows need not be a power of two long:
//! they sort as if padded with +inf, without the padding being stored.

use super::{groups_256, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `sort.wgsl`'s parameters: the rows' shape and the stage.
    pub(crate) struct SortParams for Sort::Params {
        rows: u32,
        len: u32,
        half: u32,
        dist: u32,
        mirror: u32,
    }
}

/// The kernels that sort each of the `rows` rows of `data` (`rows × len` values, row-major)
/// in place, ascending in `f32::total_cmp`'s order; run them in order, in one pass or several.
pub fn sort_rows(gpu: &Gpu, data: &Tensor, rows: usize, len: usize) -> Result<Vec<Kernel>> {
    if rows == 0 || len == 0 || data.len() != rows * len {
        return Err(Error::shape(
            "sort_rows",
            format!("{rows} rows of {len} values do not fill {:?}", data.shape()),
        ));
    }
    let padded = len.next_power_of_two();
    let half = padded / 2;
    // Comparators are the invocations; their count must fit the shader's u32 index.
    if u32::try_from(rows * half.max(1)).is_err() || u32::try_from(rows * len).is_err() {
        return Err(Error::shape(
            "sort_rows",
            format!("{rows} rows of {len} values are too many for 32-bit indices"),
        ));
    }
    let mut kernels = Vec::new();
    let mut block = 2;
    while block <= padded {
        let mut dist = block / 2;
        let mut mirror = 1;
        while dist >= 1 {
            let params = SortParams {
                rows: u(rows),
                len: u(len),
                half: u(half),
                dist: u(dist),
                mirror,
            };
            kernels.push(gpu.kernel(
                KernelSpec::new(Shader::Sort, "bitonic_step"),
                &[Bind::params(&params), Bind::Write(data)],
                groups_256(rows * half),
            )?);
            mirror = 0;
            dist /= 2;
        }
        block *= 2;
    }
    Ok(kernels)
}
