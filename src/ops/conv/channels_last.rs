//! The phase input-grad with its operands laid out channels-last, on CPU adapters with
//! subgroups: dy as `[n, out_h, out_w, c_out]` (`to_channels_last` in `shaders/im2col.wgsl`)
//! and the weight as `[c_in, k, k, c_out]` (the transpose of `[c_out, c_in·k²]`,
//! `shaders/transpose.wgsl`), so that `conv_dx_cl_sg` loads both as vec4s along the summed
//! output channels. On lavapipe a storage access costs a loop over the lanes whatever its
//! width, so this takes a quarter of `conv_dx_sg`'s load turns; it runs the same sums in the
//! same order, bit-identical to `conv_dx_sg`. Laying out costs a read and a write per value,
//! and each dy value then feeds c_in·k²/s² FMAs: on the DCGAN layers at batch 64 the input-grad
//! ran 1.0–1.2× as fast, dcgan28's D 64 → 128 0.91–1.28× (docs/BENCHMARKS.md).
//!
//! The forward and weight-grad laid out the same way (x as `[n, h, w, c_in]`) measured no
//! faster than `conv_fwd_sg` and `conv_dw_sg`, nor the thin input-grad than `conv_dxt4`.

use super::super::u;
use super::lowered::Im2colParams;
use super::ConvGeom;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::ops::transpose;
use crate::{Gpu, Result, Tensor};

/// Whether the input-grad of `g` runs channels-last on `gpu`: output channels in whole
/// vec4s, a weight the 4 × 4 transpose takes, and the loop over dy's vec4s within the
/// adapter's loop limit.
pub fn input_grad_fits(gpu: &Gpu, g: &ConvGeom) -> bool {
    gpu.subgroup_kernels()
        && g.c_out.is_multiple_of(4)
        && transpose::fits(g.c_out, g.c_in * g.k * g.k)
        && gpu
            .loop_limit()
            .is_none_or(|limit| g.c_out / 4 + 16 < limit)
}

/// `dst[i, r, c] = src[i, c, r]` for `images` blocks of `channels × plane` values.
fn to_channels_last(
    gpu: &Gpu,
    src: &Tensor,
    dst: &Tensor,
    (images, channels, plane): (usize, usize, usize),
) -> Result<Kernel> {
    let items = images * channels * plane / 4;
    let params = Im2colParams {
        batch: u(images),
        c_in: 0,
        h: 0,
        w: 0,
        pad: 0,
        count: u(items),
    };
    let spec = KernelSpec::new(Shader::Im2col, "to_channels_last")
        .constant("CHANNELS", channels as f64)
        .constant("PLANE", plane as f64);
    gpu.kernel(
        spec,
        &[Bind::params(&params), Bind::Read(src), Bind::Write(dst)],
        items.div_ceil(256) as u32,
    )
}

/// Lays out dy and w for `conv_dx_cl_sg`: (dy channels-last, w as `[c_in, k, k, c_out]`, the
/// kernel that fills both).
pub fn input_grad_operands(
    gpu: &Gpu,
    g: &ConvGeom,
    dy: &Tensor,
    w: &Tensor,
) -> Result<(Tensor, Tensor, Kernel)> {
    let terms = g.c_in * g.k * g.k;
    let shape = [g.batch, g.out_h, g.out_w, g.c_out];
    let dyl = Tensor::zeros(gpu, &shape, "conv dy channels-last")?;
    let wt = Tensor::zeros(gpu, &[terms, g.c_out], "conv weight channels-last")?;
    let plane = g.out_h * g.out_w;
    let to_dyl = to_channels_last(gpu, dy, &dyl, (g.batch, g.c_out, plane))?;
    let to_wt = transpose::transpose4(gpu, w, g.c_out, terms, &wt)?;
    Ok((dyl, wt, to_dyl.then(to_wt)))
}
