//! Convolutions lowered to the vec4 GEMM on CPU adapters with subgroups: the input laid out
//! as a matrix (`shaders/im2col.wgsl`), then one `gemm_nt4_sg` product, whose operands both
//! load as vec4s along the summed axis and which runs at 60–75 % of the FMA ceiling on
//! lavapipe where the direct kernels reach 30–55 %. Laying the input out costs a load and a
//! store per value, about 1.3–1.9 ns each there (a storage access is a loop over the lanes),
//! and each value then feeds c_out FMAs. Measured on the DCGAN layers at batch 64 against the
//! direct kernels in one process: with c_out = 256 or 512 the forward ran 1.07–1.39× as fast
//! and the weight-grad 1.12–1.34×, with c_out = 128 0.91–1.18× (docs/BENCHMARKS.md), so only
//! layers of 256 output channels or more are lowered.
//!
//! - forward: `y[co, q] = Σ_kk w[co, kk] · xc[q, kk]` over kk = (ci, ky, kx), q = (n, oy, ox),
//!   stored NCHW by the product's epilogue, with the bias per output channel.
//! - weight-grad: `dw[co, kk] = Σ_q dy[co, q] · xc[kk, q]`, with dy's pixels made
//!   contiguous per channel first.
//!
//! The input-grad stays direct: lowered, its output would need a col2im pass as well, which
//! would eat what the product gains. The sums run in gemm_nt4's order (4 terms per dot
//! product), not the direct kernels'.

use super::super::u;
use super::ConvGeom;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::ops::gemm::nt4_lowered;
use crate::{Gpu, Result, Tensor};

shader_params! {
    /// `im2col.wgsl`'s parameters: the sizes no division needs, and the count of work items.
    pub(crate) struct Im2colParams for Im2col::Params {
        batch: u32,
        c_in: u32,
        h: u32,
        w: u32,
        pad: u32,
        count: u32,
    }
}

/// Largest lowered input, in values: beyond it the direct kernels run (a scratch matrix of
/// 64 MiB per layer and direction is what a training step may hold for it).
const MAX_SCRATCH: usize = 1 << 24;
/// Most workgroups the product's 64-column tiles may take in one dispatch dimension.
const MAX_COLUMN_TILES: usize = 65_535;

/// Fewest output channels (FMAs per laid-out value), and summed terms per output, for which
/// lowering was measured to pay (see the module comment).
const MIN_CHANNELS: usize = 256;
const MIN_TERMS: usize = 64;

/// Columns of the lowered input: c_in · k².
fn terms(g: &ConvGeom) -> usize {
    g.c_in * g.k * g.k
}

fn pixels(g: &ConvGeom) -> usize {
    g.batch * g.out_h * g.out_w
}

/// Whether a lowered product of `c_out` rows and `columns` columns, summed over `summed`
/// values in vec4s, runs on `gpu`: within the adapter's loop limit (one turn per vec4) and
/// the dispatch limits, with scratch of at most [`MAX_SCRATCH`], on a layer wide enough to pay.
fn product_fits(gpu: &Gpu, g: &ConvGeom, summed: usize, columns: usize) -> bool {
    gpu.subgroup_kernels()
        && summed.is_multiple_of(4)
        && gpu.loop_limit().is_none_or(|limit| summed / 4 + 16 < limit)
        && columns.div_ceil(64) <= MAX_COLUMN_TILES
        && terms(g) >= MIN_TERMS
        && g.c_out >= MIN_CHANNELS
        && terms(g) * pixels(g) <= MAX_SCRATCH
}

/// Whether [`forward`] runs this geometry on `gpu`.
pub fn forward_fits(gpu: &Gpu, g: &ConvGeom) -> bool {
    product_fits(gpu, g, terms(g), pixels(g))
}

/// Whether [`weight_grad`] runs this geometry on `gpu`.
pub fn weight_grad_fits(gpu: &Gpu, g: &ConvGeom) -> bool {
    product_fits(gpu, g, pixels(g), terms(g))
}

/// One invocation per work item, 256 to a workgroup; the geometry's divisors are pipeline
/// constants.
fn im2col_kernel(
    gpu: &Gpu,
    entry: &'static str,
    g: &ConvGeom,
    src: &Tensor,
    dst: &Tensor,
    items: usize,
) -> Result<Kernel> {
    let params = Im2colParams {
        batch: u(g.batch),
        c_in: u(g.c_in),
        h: u(g.h),
        w: u(g.w),
        pad: u(g.pad),
        count: u(items),
    };
    let spec = KernelSpec::new(Shader::Im2col, entry)
        .constant("KS", g.k as f64)
        .constant("ST", g.stride as f64)
        .constant("OUT_W", g.out_w as f64)
        .constant("PLANE", (g.out_h * g.out_w) as f64)
        .constant("K4", (terms(g) / 4) as f64)
        .constant("PIXELS", pixels(g) as f64)
        .constant("Q4", (pixels(g) / 4) as f64)
        .constant("CHANNELS", g.c_out as f64);
    gpu.kernel(
        spec,
        &[Bind::params(&params), Bind::Read(src), Bind::Write(dst)],
        items.div_ceil(256) as u32,
    )
}

/// The forward on a geometry [`forward_fits`]; the sizes were checked by the caller.
pub fn forward(
    gpu: &Gpu,
    g: &ConvGeom,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let (kk, q) = (terms(g), pixels(g));
    let xc = Tensor::zeros(gpu, &[q, kk], "conv input as rows")?;
    let items = q * kk / 4;
    let lay_out = im2col_kernel(gpu, "im2col_rows", g, x, &xc, items)?;
    let product = nt4_lowered(
        gpu,
        w,
        &xc,
        (g.c_out, q, kk),
        bias,
        g.out_h * g.out_w,
        y,
        accumulate,
    )?;
    Ok(lay_out.then(product))
}

/// The weight-grad on a geometry [`weight_grad_fits`]; the sizes were checked by the caller.
pub fn weight_grad(
    gpu: &Gpu,
    g: &ConvGeom,
    x: &Tensor,
    dy: &Tensor,
    dw: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let (kk, q) = (terms(g), pixels(g));
    let xc = Tensor::zeros(gpu, &[kk, q], "conv input as columns")?;
    let dyc = Tensor::zeros(gpu, &[g.c_out, q], "conv output gradient by channel")?;
    let items = q * kk / 4;
    let lay_out = im2col_kernel(gpu, "im2col_cols", g, x, &xc, items)?;
    let values = dy.len();
    let by_channel = im2col_kernel(gpu, "to_channel_major", g, dy, &dyc, values)?;
    let product = nt4_lowered(gpu, &dyc, &xc, (g.c_out, kk, q), None, 0, dw, accumulate)?;
    Ok(lay_out.then(by_channel.then(product)))
}
