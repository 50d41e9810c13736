//! 2-D convolution (NCHW, square kernel, stride, zero padding): forward, input-grad,
//! weight-grad and bias-grad kernels. Conv2d uses them as named; ConvTranspose2d uses the same
//! kernels on the geometry of [`ConvGeom::transposed`], with its forward on [`input_grad`] and
//! its input-grad on [`forward`]. The shaders are in `shaders/conv.wgsl`, the CPU reference in
//! `reference::conv`, the tests (and an ignored timing test) in `tests/conv.rs`.
//!
//! The kernels, as laid out on a CPU adapter (the shader's header has the details):
//! - [`forward`]: implicit GEMM, no im2col buffer; each lane accumulates 32 output channels ×
//!   16 pixels, and a 4×4 kernel's rows are vec4 loads.
//! - [`input_grad`]: a gather (no atomics) per stride phase, 32 input channels × 16 pixels per
//!   lane; with at most 4 input channels (an image output) a lane owns a 4×4 pixel block and
//!   loads the dy window under it once per output channel.
//! - [`weight_grad`]: 32 output channels × 16 weights per workgroup; the 8 lanes split the sum
//!   over batch and output rows and add their partial sums in lane order.
//! - [`bias_grad`]: one lane per channel.
//!
//! Where the device has subgroup operations (lavapipe does), the forward, the phase
//! input-grad and the weight-grad run their variants in `shaders/conv_subgroup.wgsl`:
//! a value all 8 lanes need is loaded once and shuffled to them, since a storage load costs a
//! loop over the lanes there; with output channels in whole vec4s the input-grad runs on
//! channels-last copies of dy and w in texels, fetching 4 channels at a time
//! ([`channels_last`]). The forward and input-grad variants are bit-identical to the
//! plain kernels; the weight-grad variant lets the lanes split the weights instead of the sum
//! (about 2× faster on the DCGAN layers) and so rounds differently. `Gpu::with_subgroups(false)`
//! builds the plain kernels. On layers of at least 256 output channels the subgroup path runs
//! the forward and the weight-grad as im2col and the vec4 GEMM instead ([`lowered`]).
//!
//! In the GPU layouts (a GPU adapter, or `Layouts::Gpu`) the forward, the input-grad (but for
//! the thin one), the weight-grad and the bias-grad are the workgroup-tiled products of
//! [`super::tiled`] instead.
//!
//! Every sum runs in a fixed order, so results are bit-identical from run to run.

use super::tiled::{self, ConvKernel};
use crate::gpu::kernel::split_groups;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

pub mod channels_last;
mod geom;
pub mod lowered;
#[cfg(test)]
pub(crate) use geom::ConvParams;
pub use geom::{ConvGeom, MAX_KERNEL};

/// Most workgroups in one dimension of a dispatch.
const MAX_GROUPS: usize = 65_535;

/// Checks that `t` holds `len` values for the role `what`.
fn expect_len(op: &str, what: &str, t: &Tensor, len: usize, g: &ConvGeom) -> Result<()> {
    if t.len() != len {
        return Err(Error::shape(
            op,
            format!(
                "{what} {:?} has {} values; the geometry {g:?} needs {len}",
                t.shape(),
                t.len()
            ),
        ));
    }
    Ok(())
}

/// Splits `m` channels into workgroups of `max` (a power of two), or fewer for thin layers:
/// (channels per workgroup, workgroups). Powers of two keep the number of distinct pipelines
/// (each a compile of a large unrolled kernel) small.
fn split_rows(m: usize, max: usize) -> (usize, usize) {
    let rows = m.next_power_of_two().min(max);
    (rows, m.div_ceil(rows))
}

/// A dispatch of `units` workgroups over x and y, times `z`.
fn grid(op: &str, units: usize, z: usize) -> Result<[u32; 3]> {
    if units > MAX_GROUPS * MAX_GROUPS || z > MAX_GROUPS {
        return Err(Error::shape(
            op,
            format!("{units}x{z} workgroups exceed the dispatch limits"),
        ));
    }
    let [x, y, _] = split_groups(units as u32);
    Ok([x, y, z as u32])
}

/// Register tiles: the constants of the same names in `conv.wgsl`. conv_fwd: output channels
/// per workgroup, pixels per lane; conv_dx: input channels, pixels; conv_dw: output channels
/// (× 16 weight columns); conv_dxt: input channels, pixel-block side, largest dy-window side,
/// most taps.
const FM: usize = 32;
const FP: usize = 16;
const DM: usize = 32;
const DP: usize = 16;
const WM: usize = 32;
const XM: usize = 4;
const XB: usize = 4;
const XW: usize = 8;
const XK: usize = 25;

/// How the kernels are laid out on this adapter.
struct Layout {
    /// Lanes per workgroup (conv_fwd, conv_dx, conv_dxt, conv_db).
    lanes: usize,
    /// Live channel rows of the conv_fwd, conv_dx and conv_dw register tiles.
    fwd_rows: usize,
    dx_rows: usize,
    dw_rows: usize,
    /// Whether the subgroup variants of `conv_subgroup.wgsl` run (CPU layouts only).
    subgroups: bool,
}

impl Layout {
    fn of(gpu: &Gpu) -> Layout {
        if gpu.cpu_layouts() {
            // One 8-wide SIMD batch per workgroup, the full tiles (measured on lavapipe:
            // FMAs per load decide speed, register spills cost little).
            Layout {
                lanes: 8,
                fwd_rows: FM,
                dx_rows: DM,
                dw_rows: WM,
                subgroups: gpu.subgroup_kernels(),
            }
        } else {
            // The GPU layouts run the tiled products (`super::tiled`) but for the thin
            // input-grad, which takes wide workgroups here; a GPU has thousands of lanes and
            // few registers each, so the live tiles stay small (unused rows fold away).
            Layout {
                lanes: 64,
                fwd_rows: 4,
                dx_rows: 4,
                dw_rows: 4,
                subgroups: false,
            }
        }
    }
}

/// Rows and columns of the dy window under an XB×XB pixel block in conv_dxt, or None when
/// conv_dxt cannot run this geometry (the block must be a whole number of stride phases, the
/// window and the taps must fit the shader's arrays).
fn thin_window(g: &ConvGeom) -> Option<usize> {
    let (k, s) = (g.k as i64, g.stride as i64);
    if XB as i64 % s != 0 || g.k * g.k > XK {
        return None;
    }
    let ph = (g.pad % g.stride) as i64;
    let lo = (ph - k + 1).div_euclid(s);
    let hi = (XB as i64 - 1 + ph).div_euclid(s);
    let size = (hi - lo + 1) as usize;
    (size <= XW).then_some(size)
}

/// `y[n,co,oy,ox] = Σ_{ci,ky,kx} x[n,ci,oy·s−p+ky, ox·s−p+kx] · w[co,ci,ky,kx] (+ bias[co])`
/// [+ y if accumulate]; w is [c_out, c_in, k, k] (PyTorch). Also ConvTranspose2d's
/// input-grad on the [`ConvGeom::transposed`] geometry.
pub fn forward(
    gpu: &Gpu,
    g: &ConvGeom,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let op = "conv2d forward";
    g.check(op)?;
    expect_len(op, "input", x, g.input_len(), g)?;
    expect_len(op, "weight", w, g.weight_len(), g)?;
    expect_len(op, "output", y, g.output_len(), g)?;
    if let Some(b) = bias {
        expect_len(op, "bias", b, g.c_out, g)?;
    }
    if !gpu.cpu_layouts() {
        return tiled::conv(gpu, ConvKernel::Forward, g, x, w, bias, y, accumulate);
    }
    if lowered::forward_fits(gpu, g) {
        return lowered::forward(gpu, g, x, w, bias, y, accumulate);
    }
    let layout = Layout::of(gpu);
    let (tm, blocks) = split_rows(g.c_out, layout.fwd_rows);
    let pixels = g.batch * g.out_h * g.out_w;
    let groups = grid(op, pixels.div_ceil(layout.lanes * FP), blocks)?;
    let params = g.params(accumulate, bias.is_some(), 0);
    // A 4×4 kernel's rows are vec4 loads in the plain kernels. With subgroups, scalar weights
    // shuffled one column at a time ran faster on lavapipe (docs/BENCHMARKS.md); the columns
    // then go last to first, conv_fwd4's order, so both give the same bits.
    let (shader, entry) = match (g.k, layout.subgroups) {
        (_, true) => (Shader::ConvSubgroup, "conv_fwd_sg"),
        (4, false) => (Shader::Conv, "conv_fwd4"),
        (_, false) => (Shader::Conv, "conv_fwd"),
    };
    let mut spec = KernelSpec::new(shader, entry)
        .constant("WG", layout.lanes as f64)
        .constant("KS", g.k as f64)
        .constant("ST", g.stride as f64)
        .constant("TM", tm as f64);
    if layout.subgroups {
        spec = spec.constant("KX_DOWN", (g.k == 4) as u8 as f64);
    }
    // Unused bindings still need a buffer; the weight serves.
    let bias = bias.unwrap_or(w);
    let mut binds = vec![
        Bind::params(&params),
        Bind::Read(x),
        Bind::Read(w),
        Bind::Read(bias),
        Bind::Write(y),
    ];
    if entry == "conv_fwd4" {
        binds.push(Bind::Read(w));
    }
    gpu.kernel_3d(spec, &binds, groups)
}

/// dx = ∂/∂x of Σ dy·y: `dx[n,ci,iy,ix] = Σ dy[n,co,oy,ox]·w[co,ci,ky,kx]` over iy = oy·s−p+ky,
/// ix = ox·s−p+kx [+ dx if accumulate]. Also ConvTranspose2d's forward on the
/// [`ConvGeom::transposed`] geometry.
pub fn input_grad(
    gpu: &Gpu,
    g: &ConvGeom,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let op = "conv2d input-grad";
    g.check(op)?;
    expect_len(op, "output gradient", dy, g.output_len(), g)?;
    expect_len(op, "weight", w, g.weight_len(), g)?;
    expect_len(op, "input gradient", dx, g.input_len(), g)?;
    let thin = g.c_in <= XM && thin_window(g).is_some();
    if !gpu.cpu_layouts() && !thin {
        return tiled::conv(gpu, ConvKernel::InputGrad, g, dy, w, None, dx, accumulate);
    }
    let layout = Layout::of(gpu);
    let (entry, tm, blocks, groups) = if thin {
        // Few input channels (a generator's image output): a block of pixels per lane.
        let entry = if g.k == 4 { "conv_dxt4" } else { "conv_dxt" };
        let pixel_blocks = g.batch * g.h.div_ceil(XB) * g.w.div_ceil(XB);
        let groups = grid(op, pixel_blocks.div_ceil(layout.lanes), 1)?;
        (entry, g.c_in.next_power_of_two(), 0, groups)
    } else {
        let (tm, blocks) = split_rows(g.c_in, layout.dx_rows);
        // Workgroups cover the largest phase, ceil(h/s) × ceil(w/s) pixels per image, for
        // each of the s² phases and channel blocks.
        let phase_pixels = g.batch * g.h.div_ceil(g.stride) * g.w.div_ceil(g.stride);
        let groups = grid(
            op,
            phase_pixels.div_ceil(layout.lanes * DP),
            g.stride * g.stride * blocks,
        )?;
        ("conv_dx", tm, blocks, groups)
    };
    let params = g.params(accumulate, false, blocks);
    let last = entry == "conv_dx" && layout.subgroups && channels_last::input_grad_fits(gpu, g);
    let (shader, entry) = match (entry, layout.subgroups) {
        ("conv_dx", true) if last => (Shader::ConvSubgroup, "conv_dx_cl_sg"),
        ("conv_dx", true) => (Shader::ConvSubgroup, "conv_dx_sg"),
        _ => (Shader::Conv, entry),
    };
    let spec = KernelSpec::new(shader, entry)
        .constant("WG", layout.lanes as f64)
        .constant("KS", g.k as f64)
        .constant("ST", g.stride as f64)
        .constant("PH", (g.pad % g.stride) as f64)
        .constant("TM", tm as f64);
    if last {
        let (dyl, wl, lay_out) = channels_last::input_grad_operands(gpu, g, dy, w)?;
        // The bias binding is unused; the weight serves.
        let binds = [
            Bind::params(&params),
            Bind::ReadTexels(&dyl),
            Bind::ReadTexels(&wl),
            Bind::Read(w),
            Bind::Write(dx),
        ];
        return Ok(lay_out.then(gpu.kernel_3d(spec, &binds, groups)?));
    }
    // The bias binding is unused; the weight serves.
    let mut binds = vec![
        Bind::params(&params),
        Bind::Read(dy),
        Bind::Read(w),
        Bind::Read(w),
        Bind::Write(dx),
    ];
    if entry == "conv_dxt4" {
        binds.push(Bind::Read(w));
    }
    gpu.kernel_3d(spec, &binds, groups)
}

/// `dw[co,ci,ky,kx] = Σ_{n,oy,ox} dy[n,co,oy,ox]·x[n,ci,oy·s−p+ky,ox·s−p+kx]` (+ dw if accumulate).
/// For ConvTranspose2d on the [`ConvGeom::transposed`] geometry, `x` is its output gradient and
/// `dy` its input.
pub fn weight_grad(
    gpu: &Gpu,
    g: &ConvGeom,
    x: &Tensor,
    dy: &Tensor,
    dw: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let op = "conv2d weight-grad";
    g.check(op)?;
    expect_len(op, "input", x, g.input_len(), g)?;
    expect_len(op, "output gradient", dy, g.output_len(), g)?;
    expect_len(op, "weight gradient", dw, g.weight_len(), g)?;
    if !gpu.cpu_layouts() {
        return tiled::conv(gpu, ConvKernel::WeightGrad, g, x, dy, None, dw, accumulate);
    }
    if lowered::weight_grad_fits(gpu, g) {
        return lowered::weight_grad(gpu, g, x, dy, dw, accumulate);
    }
    let layout = Layout::of(gpu);
    // Columns per workgroup, at most 16 (the TNX constant): whole kernel rows, then whole
    // kernels, then several channels.
    let kyg = (16 / g.k).clamp(1, g.k);
    let cpg = if kyg == g.k {
        (16 / (g.k * g.k)).min(g.c_in)
    } else {
        1
    };
    let col_groups = g.c_in.div_ceil(cpg) * g.k.div_ceil(kyg);
    // With subgroups and a column group for every lane, the lanes split the columns
    // (conv_dw_sg); otherwise they split the sum (conv_dw), which fills them on thin layers.
    let by_columns = layout.subgroups && col_groups >= layout.lanes;
    let units = if by_columns {
        col_groups.div_ceil(layout.lanes)
    } else {
        col_groups
    };
    // Output channels per workgroup: fewer while that leaves under 4 workgroups (two per
    // core).
    let mut max = layout.dw_rows;
    while max > 4 && units * g.c_out.div_ceil(max) < 4 {
        max /= 2;
    }
    let (tm, blocks) = split_rows(g.c_out, max);
    let groups = grid(op, units, blocks)?;
    let params = g.params(accumulate, false, 0);
    let (shader, entry) = if by_columns {
        (Shader::ConvSubgroup, "conv_dw_sg")
    } else {
        (Shader::Conv, "conv_dw")
    };
    let spec = KernelSpec::new(shader, entry)
        .constant("WG", layout.lanes as f64)
        .constant("TM", tm as f64)
        .constant("KS", g.k as f64)
        .constant("ST", g.stride as f64)
        .constant("CPG", cpg as f64)
        .constant("KYG", kyg as f64);
    gpu.kernel_3d(
        spec,
        &[
            Bind::params(&params),
            Bind::Read(x),
            Bind::Read(dy),
            Bind::Read(dy),
            Bind::Write(dw),
        ],
        groups,
    )
}

/// `db[co] = Σ_{n,oy,ox} dy[n,co,oy,ox]` (+ db if accumulate), summed in a fixed order.
pub fn bias_grad(
    gpu: &Gpu,
    g: &ConvGeom,
    dy: &Tensor,
    db: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let op = "conv2d bias-grad";
    g.check(op)?;
    expect_len(op, "output gradient", dy, g.output_len(), g)?;
    expect_len(op, "bias gradient", db, g.c_out, g)?;
    if !gpu.cpu_layouts() {
        return tiled::conv(gpu, ConvKernel::BiasGrad, g, dy, dy, None, db, accumulate);
    }
    if let Some(limit) = gpu.loop_limit() {
        // One invocation per channel sums all of the channel's outputs.
        let iterations = g.batch * (g.out_h * g.out_w + 1);
        if iterations + 16 >= limit {
            return Err(Error::shape(
                op,
                format!(
                    "{} output values per channel exceed the loop limit ({limit}) of shaders on this CPU adapter; use a convolution without bias followed by batch norm, or a smaller batch",
                    g.batch * g.out_h * g.out_w
                ),
            ));
        }
    }
    let lanes = Layout::of(gpu).lanes;
    let params = g.params(accumulate, false, 0);
    let spec = KernelSpec::new(Shader::Conv, "conv_db").constant("WG", lanes as f64);
    gpu.kernel(
        spec,
        &[
            Bind::params(&params),
            Bind::Read(dy),
            Bind::Read(dy),
            Bind::Read(dy),
            Bind::Write(db),
        ],
        g.c_out.div_ceil(lanes) as u32,
    )
}
