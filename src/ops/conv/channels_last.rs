//! The phase input-grad with its operands laid out channels-last in texels, on CPU adapters
//! with subgroups: dy as `[n, out_h, out_w, c_out]` and the weight as `[c_in, k, k, c_out]`
//! (the transpose of `[c_out, c_in·k²]`), both by `to_channels_last` in `shaders/im2col.wgsl`,
//! so that `conv_dx_cl_sg` loads them as vec4s along the summed output channels, by texel
//! fetches ([`crate::gpu::texels`]). On lavapipe a storage access costs a loop over the lanes
//! whatever its width, and a texel fetch is a straight gather: this takes a quarter of
//! `conv_dx_sg`'s loads, each cheaper. It runs the same sums in the same order,
//! bit-identical to `conv_dx_sg`. Laying out costs a read and a write per value, and each dy
//! value then feeds c_in·k²/s² FMAs (docs/BENCHMARKS.md has the measurements).
//!
//! The forward laid out the same way (x as `[n, h, w, c_in]`, from a storage buffer or texels)
//! measured no faster than `conv_fwd_sg` beyond the machine's swings and would sum in another
//! order; the weight-grad and the thin input-grad laid out so were no faster than `conv_dw_sg`
//! and `conv_dxt4`.

use super::super::u;
use super::lowered::Im2colParams;
use super::ConvGeom;
use crate::gpu::shaders::Shader;
use crate::gpu::texels::Texels;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Gpu, Result, Tensor};

/// Whether the input-grad of `g` runs channels-last on `gpu`: output channels in whole
/// vec4s, dy within one texture, and the loop over dy's vec4s within the adapter's loop
/// limit.
pub fn input_grad_fits(gpu: &Gpu, g: &ConvGeom) -> bool {
    gpu.subgroup_kernels()
        && g.c_out.is_multiple_of(4)
        && Texels::fit(gpu, g.output_len() / 4)
        && Texels::fit(gpu, g.weight_len() / 4)
        && gpu
            .loop_limit()
            .is_none_or(|limit| g.c_out / 4 + 16 < limit)
}

/// The channels-last operands of `conv_dx_cl_sg`: (dy, w, the kernel that lays both out).
pub(crate) fn input_grad_operands(
    gpu: &Gpu,
    g: &ConvGeom,
    dy: &Tensor,
    w: &Tensor,
) -> Result<(Texels, Texels, Kernel)> {
    let terms = g.c_in * g.k * g.k;
    let dyl = Texels::new(gpu, dy.len() / 4, "conv dy channels-last")?;
    let wl = Texels::new(gpu, w.len() / 4, "conv weight channels-last")?;
    let to_dyl = to_channels_last(gpu, dy, &dyl, (g.batch, g.c_out, g.out_h * g.out_w))?;
    let to_wl = to_channels_last(gpu, w, &wl, (1, g.c_out, terms))?;
    Ok((dyl, wl, to_dyl.then(to_wl)))
}

/// `dst[i, r, c] = src[i, c, r]` for `images` blocks of `channels × plane` values, `channels`
/// divisible by 4.
fn to_channels_last(
    gpu: &Gpu,
    src: &Tensor,
    dst: &Texels,
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
        &[
            Bind::params(&params),
            Bind::Read(src),
            Bind::WriteTexels(dst),
        ],
        items.div_ceil(256) as u32,
    )
}
