//! The GPU layouts of the GEMM and the convolutions: one workgroup-tiled implicit GEMM
//! (`shaders/tiled.wgsl`, whose header describes it) that reads each kernel's operands
//! through that kernel's indexing, with K split over more workgroups where the output alone
//! is too small to fill a GPU, and the splits summed by a second dispatch in a fixed order.
//! Tested against the f64 references on lavapipe by forcing the GPU layouts
//! (`Gpu::with_layouts`).

use super::conv::ConvGeom;
use super::u;
use crate::gpu::kernel::split_groups;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `tiled.wgsl`'s parameters.
    pub(crate) struct TiledParams for Tiled::Params {
        m: u32,
        n: u32,
        k: u32,
        a_rs: u32,
        a_ks: u32,
        b_ks: u32,
        b_cs: u32,
        batch: u32,
        c_in: u32,
        h: u32,
        w: u32,
        c_out: u32,
        out_h: u32,
        out_w: u32,
        pad: u32,
        k_chunk: u32,
        splits: u32,
        out_len: u32,
        accumulate: u32,
        has_bias: u32,
        bias_div: u32,
        bias_mod: u32,
    }
}

/// Invocations per workgroup, and the K step: the shader's THREADS and BK.
const THREADS: usize = 256;
const BK: usize = 8;
/// Workgroups a product should reach before its K is split: several per core of a large GPU.
const FILL: usize = 512;
/// The fewest K steps one split walks.
const MIN_STEPS: usize = 8;
/// The most partial values the splits of one product keep (256 MiB).
const MAX_PARTIALS: usize = 1 << 26;
/// Loop iterations one K step takes in an invocation, for CPU adapters' loop limit.
const ITERATIONS_PER_STEP: usize = 300;
/// Most workgroups in one dimension of a dispatch.
const MAX_GROUPS: usize = 65_535;

/// Which convolution kernel a product computes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ConvKernel {
    Forward,
    InputGrad,
    WeightGrad,
    BiasGrad,
}

/// One product's sizes: rows, columns (the largest stride phase's for the input-grad), inner
/// size, phases, and values in the output.
struct Sizes {
    m: usize,
    n: usize,
    k: usize,
    phases: usize,
    out_len: usize,
}

/// `c = op(a) · op(b) [+ bias] [+ c]` with op(a)[i, k] = a[i·a_rs + k·a_ks] and op(b)[k, j] =
/// b[k·b_ks + j·b_cs]; `bias` has one value per column. The caller has checked the sizes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    gpu: &Gpu,
    a: &Tensor,
    (a_rs, a_ks): (usize, usize),
    b: &Tensor,
    (b_ks, b_cs): (usize, usize),
    (m, n, k): (usize, usize, usize),
    bias: Option<&Tensor>,
    c: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let params = TiledParams {
        a_rs: u(a_rs),
        a_ks: u(a_ks),
        b_ks: u(b_ks),
        b_cs: u(b_cs),
        bias_div: 1,
        bias_mod: u(n.max(1)),
        ..Default::default()
    };
    let sizes = Sizes {
        m,
        n,
        k,
        phases: 1,
        out_len: m * n,
    };
    build(
        gpu,
        "gemm",
        "tiled_gemm",
        (1, 1),
        sizes,
        params,
        [a, b],
        bias,
        c,
        accumulate,
    )
}

/// One convolution kernel on geometry `g`, as `conv::forward`, `conv::input_grad`,
/// `conv::weight_grad` and `conv::bias_grad` define them; the operands in the order those take
/// them (x and w, dy and w, x and dy; dy and any tensor for the bias-grad, whose B is ones).
/// The caller has checked the sizes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv(
    gpu: &Gpu,
    kernel: ConvKernel,
    g: &ConvGeom,
    first: &Tensor,
    second: &Tensor,
    bias: Option<&Tensor>,
    c: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let taps = g.k * g.k;
    let pixels = g.batch * g.out_h * g.out_w;
    // (entry, A, B, sizes)
    let (entry, a, b, sizes) = match kernel {
        ConvKernel::Forward => (
            "tiled_fwd",
            second,
            first,
            Sizes {
                m: g.c_out,
                n: pixels,
                k: g.c_in * taps,
                phases: 1,
                out_len: g.output_len(),
            },
        ),
        ConvKernel::InputGrad => {
            let t = g.k.div_ceil(g.stride);
            (
                "tiled_dx",
                second,
                first,
                Sizes {
                    m: g.c_in,
                    n: g.batch * g.h.div_ceil(g.stride) * g.w.div_ceil(g.stride),
                    k: g.c_out * t * t,
                    phases: g.stride * g.stride,
                    out_len: g.input_len(),
                },
            )
        }
        ConvKernel::WeightGrad => (
            "tiled_dw",
            second,
            first,
            Sizes {
                m: g.c_out,
                n: g.c_in * taps,
                k: pixels,
                phases: 1,
                out_len: g.weight_len(),
            },
        ),
        ConvKernel::BiasGrad => (
            "tiled_db",
            first,
            second,
            Sizes {
                m: g.c_out,
                n: 1,
                k: pixels,
                phases: 1,
                out_len: g.c_out,
            },
        ),
    };
    let params = TiledParams {
        batch: u(g.batch),
        c_in: u(g.c_in),
        h: u(g.h),
        w: u(g.w),
        c_out: u(g.c_out),
        out_h: u(g.out_h),
        out_w: u(g.out_w),
        pad: u(g.pad),
        bias_div: u(g.out_h * g.out_w),
        bias_mod: u(g.c_out),
        ..Default::default()
    };
    let op = match kernel {
        ConvKernel::Forward => "conv2d forward",
        ConvKernel::InputGrad => "conv2d input-grad",
        ConvKernel::WeightGrad => "conv2d weight-grad",
        ConvKernel::BiasGrad => "conv2d bias-grad",
    };
    build(
        gpu,
        op,
        entry,
        (g.k, g.stride),
        sizes,
        params,
        [a, b],
        bias,
        c,
        accumulate,
    )
}

/// How many splits K takes, and the K of each: one split where the tiles fill the device,
/// else enough to (at least `MIN_STEPS` K steps each, and within `MAX_PARTIALS`); on CPU
/// adapters also enough to keep each invocation's loops under the adapter's limit.
fn split_k(gpu: &Gpu, tiles: usize, k: usize, out_len: usize) -> (usize, usize) {
    let steps = k.div_ceil(BK).max(1);
    let mut splits = if tiles >= FILL {
        1
    } else {
        FILL.div_ceil(tiles)
            .min(steps / MIN_STEPS)
            .min(MAX_PARTIALS / out_len.max(1))
            .max(1)
    };
    if let Some(limit) = gpu.loop_limit() {
        splits = splits.max(steps.div_ceil(limit / ITERATIONS_PER_STEP));
    }
    let chunk = steps.div_ceil(splits) * BK;
    (k.div_ceil(chunk).max(1), chunk)
}

#[allow(clippy::too_many_arguments)]
fn build(
    gpu: &Gpu,
    op: &str,
    entry: &'static str,
    (ks, st): (usize, usize),
    sizes: Sizes,
    mut params: TiledParams,
    [a, b]: [&Tensor; 2],
    bias: Option<&Tensor>,
    c: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    // 64 × 64 tiles, or 16 × 256 for products of at most 16 rows.
    let ty = if sizes.m > 16 { 16 } else { 4 };
    let (bm, bn) = (4 * ty, 4 * THREADS / ty);
    let across = sizes.n.div_ceil(bn);
    let down = sizes.m.div_ceil(bm);
    let tiles = across * down * sizes.phases;
    let (splits, chunk) = split_k(gpu, tiles, sizes.k, sizes.out_len);
    let deep = sizes.phases * splits;
    if across > MAX_GROUPS || down > MAX_GROUPS || deep > MAX_GROUPS {
        return Err(Error::shape(
            op,
            format!("{across}x{down}x{deep} workgroups exceed the dispatch limits"),
        ));
    }
    params.m = u(sizes.m);
    params.n = u(sizes.n);
    params.k = u(sizes.k);
    params.k_chunk = u(chunk);
    params.splits = u(splits);
    params.out_len = u(sizes.out_len);
    params.accumulate = accumulate as u32;
    params.has_bias = bias.is_some() as u32;
    // The partial products, or a placeholder where the tile is stored directly.
    let held = if splits > 1 {
        splits * sizes.out_len
    } else {
        1
    };
    let partials = Tensor::zeros(gpu, &[held], "split product")?;
    let bias = bias.unwrap_or(a);
    let binds = [
        Bind::params(&params),
        Bind::Read(a),
        Bind::Read(b),
        Bind::Read(bias),
        Bind::Write(c),
        Bind::Write(&partials),
    ];
    let spec = KernelSpec::new(Shader::Tiled, entry)
        .constant("TY", ty as f64)
        .constant("KS", ks as f64)
        .constant("ST", st as f64);
    let product = gpu.kernel_3d(spec, &binds, [across as u32, down as u32, deep as u32])?;
    if splits == 1 {
        return Ok(product);
    }
    let sum = gpu.kernel_3d(
        KernelSpec::new(Shader::Tiled, "tiled_sum"),
        &binds,
        split_groups(sizes.out_len.div_ceil(THREADS) as u32),
    )?;
    Ok(product.then(sum))
}
