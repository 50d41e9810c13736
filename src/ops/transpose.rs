//! Matrix transpose, for operands whose stored axis a faster kernel cannot read.

use super::u;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `transpose.wgsl`'s parameters: the sizes in 4 × 4 blocks.
    pub(crate) struct TransposeParams for Transpose::Params { r4: u32, c4: u32 }
}

/// Most workgroups in one dimension of a dispatch (block rows, and block columns over WG).
const MAX_GROUPS: usize = 65_535;
/// Lanes per workgroup, each moving one block.
const WG: usize = 8;

/// Whether [`transpose4`] takes a `[rows, cols]` matrix.
pub fn fits(rows: usize, cols: usize) -> bool {
    rows.is_multiple_of(4)
        && cols.is_multiple_of(4)
        && rows > 0
        && cols > 0
        && rows / 4 <= MAX_GROUPS
        && (cols / 4).div_ceil(WG) <= MAX_GROUPS
}

/// `dst = srcᵀ`: `src` read as `[rows, cols]`, `dst` as `[cols, rows]`; both sizes divisible by 4.
pub fn transpose4(
    gpu: &Gpu,
    src: &Tensor,
    rows: usize,
    cols: usize,
    dst: &Tensor,
) -> Result<Kernel> {
    let op = "transpose";
    if !fits(rows, cols) {
        return Err(Error::shape(
            op,
            format!(
                "a {rows}x{cols} matrix needs both sizes divisible by 4, at most {} rows and {} columns",
                4 * MAX_GROUPS,
                4 * WG * MAX_GROUPS
            ),
        ));
    }
    if src.len() != rows * cols || dst.len() != rows * cols {
        return Err(Error::shape(
            op,
            format!(
                "{rows}x{cols} needs {} values; src has {}, dst {}",
                rows * cols,
                src.len(),
                dst.len()
            ),
        ));
    }
    let params = TransposeParams {
        r4: u(rows / 4),
        c4: u(cols / 4),
    };
    gpu.kernel_3d(
        KernelSpec::new(Shader::Transpose, "transpose4").constant("WG", WG as f64),
        &[Bind::params(&params), Bind::Read(src), Bind::Write(dst)],
        [(cols / 4).div_ceil(WG) as u32, (rows / 4) as u32, 1],
    )
}
