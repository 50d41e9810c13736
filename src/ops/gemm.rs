//! Dense matrix multiply: one kernel with transpose flags for Linear forward, input-grad and
//! weight-grad, plus the bias-gradient reduction.

use super::{transpose, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::KernelSpec;
use crate::gpu::{Bind, Kernel};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `gemm.wgsl`'s parameters: sizes, the strides of op(A) and op(B), and flags.
    pub(crate) struct GemmParams for Gemm::Params {
        m: u32,
        n: u32,
        k: u32,
        a_rs: u32,
        a_ks: u32,
        b_ks: u32,
        b_cs: u32,
        accumulate: u32,
        has_bias: u32,
    }
}

shader_params! {
    /// `gemm_vec4.wgsl`'s parameters, the same block as [`GemmParams`].
    pub(crate) struct Gemm4Params for GemmVec4::Params {
        m: u32,
        n: u32,
        k: u32,
        a_rs: u32,
        a_ks: u32,
        b_ks: u32,
        b_cs: u32,
        accumulate: u32,
        has_bias: u32,
        plane: u32,
    }
}

shader_params! {
    /// `reduce.wgsl`'s parameters.
    pub(crate) struct ReduceParams for Reduce::Params {
        rows: u32,
        cols: u32,
        accumulate: u32,
        scale: f32,
        slot: u32,
    }
}

/// Rows per workgroup (general) or per lane (nn4), vec4 column groups per lane (general),
/// columns per lane and rows per workgroup (nt4): the constants of the same names in the
/// shaders; and the vec4 column groups of an nn4 workgroup (`TV` in gemm_vec4_common.wgsl).
const TM: usize = 8;
const TV: usize = 4;
const TC: usize = 8;
const NT_TM: usize = 32;
const TV_NN4: usize = 8;

/// A tensor read as a matrix: its first dimension are rows, the rest columns.
fn dims(t: &Tensor) -> (usize, usize) {
    let rows = t.shape()[0];
    (rows, t.len() / rows)
}

/// `c = op(a) · op(b) [+ bias] [+ c]`, where `op` transposes when the flag is set.
/// `a` is `[m, k]` (or `[k, m]` transposed), `b` is `[k, n]` (or `[n, k]`), `c` is `[m, n]`,
/// `bias` has `n` values.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    gpu: &Gpu,
    a: &Tensor,
    trans_a: bool,
    b: &Tensor,
    trans_b: bool,
    bias: Option<&Tensor>,
    c: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    let (ar, ac) = dims(a);
    let (br, bc) = dims(b);
    let (m, k) = if trans_a { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if trans_b { (bc, br) } else { (br, bc) };
    if k != kb {
        return Err(Error::shape(
            "gemm",
            format!(
                "inner dimensions differ: op(a) is {m}x{k} (a {:?}, transposed: {trans_a}), op(b) is {kb}x{n} (b {:?}, transposed: {trans_b})",
                a.shape(),
                b.shape()
            ),
        ));
    }
    if c.len() != m * n {
        return Err(Error::shape(
            "gemm",
            format!("output {:?} does not hold the {m}x{n} product", c.shape()),
        ));
    }
    if let Some(bias) = bias {
        if bias.len() != n {
            return Err(Error::shape(
                "gemm",
                format!("bias has {} values for {n} columns", bias.len()),
            ));
        }
    }
    // Element (row, kk) of op(a) sits at row·a_rs + kk·a_ks; likewise for b.
    let (a_rs, a_ks) = if trans_a { (1, m) } else { (k, 1) };
    let (b_ks, b_cs) = if trans_b { (1, k) } else { (n, 1) };
    if !gpu.cpu_layouts() {
        return super::tiled::gemm(
            gpu,
            a,
            (a_rs, a_ks),
            b,
            (b_ks, b_cs),
            (m, n, k),
            bias,
            c,
            accumulate,
        );
    }
    if let Some(limit) = gpu.loop_limit() {
        // Each invocation walks the whole inner dimension.
        if k + 16 >= limit {
            return Err(Error::shape(
                "gemm",
                format!("an inner dimension of {k} exceeds the loop limit ({limit}) of shaders on this CPU adapter"),
            ));
        }
    }
    if let Some(kernel) = packed(gpu, a, trans_a, b, trans_b, (m, n, k), bias, c, accumulate)? {
        return Ok(kernel);
    }
    let params = GemmParams {
        m: u(m),
        n: u(n),
        k: u(k),
        a_rs: u(a_rs),
        a_ks: u(a_ks),
        b_ks: u(b_ks),
        b_cs: u(b_cs),
        accumulate: accumulate as u32,
        has_bias: bias.is_some() as u32,
    };
    // One SIMD batch of lanes per workgroup (the GPU layouts are the tiled kernels above).
    let wg = 8;
    let rows = m.div_ceil(TM) as u32;
    let (shader, entry, groups) = match variant(m, n, k, trans_a, trans_b) {
        Variant::Nn4 => (
            Shader::GemmVec4,
            "gemm_nn4",
            [n.div_ceil(4 * TV_NN4) as u32, m.div_ceil(wg * TM) as u32, 1],
        ),
        Variant::Nt4 => (
            Shader::GemmVec4,
            "gemm_nt4",
            [n.div_ceil(wg * TC) as u32, m.div_ceil(NT_TM) as u32, 1],
        ),
        Variant::General => (
            Shader::Gemm,
            "gemm",
            [n.div_ceil(wg * TV * 4) as u32, rows, 1],
        ),
    };
    // On CPU adapters with subgroups, the vec4 kernels' variants share the uniform operand.
    let (shader, entry) = match (entry, gpu.subgroup_kernels()) {
        ("gemm_nn4", true) => (Shader::GemmSubgroup, "gemm_nn4_sg"),
        ("gemm_nt4", true) => (Shader::GemmSubgroup, "gemm_nt4_sg"),
        _ => (shader, entry),
    };
    let mut spec = KernelSpec::new(shader, entry).constant("WG", wg as f64);
    // A stored [k, m] with m % 4 == 0: a lane's 8 rows are two vec4 loads.
    let nn4 = entry.starts_with("gemm_nn4");
    let a_vec = nn4 && trans_a && m.is_multiple_of(4);
    if nn4 {
        spec = spec.constant("A_VEC", a_vec as u8 as f64);
    }
    // The subgroup variant with A stored [m, k], k % 4 == 0: A's rows are vec4 loads along k.
    let a_k4 = entry == "gemm_nn4_sg" && !trans_a && k.is_multiple_of(4);
    if entry == "gemm_nn4_sg" {
        spec = spec.constant("A_K4", a_k4 as u8 as f64);
    }
    // A's vec4 view, or B (which holds at least one vec4) where it goes unread: a view of
    // fewer than 4 values (a [2, 1] gradient) would be refused as a vec4 array.
    let a4 = if a_vec || a_k4 || entry.starts_with("gemm_nt4") {
        a
    } else {
        b
    };
    // Unused bindings still need a buffer; `a` serves (it is only read).
    let bias = bias.unwrap_or(a);
    if shader != Shader::Gemm {
        let params = Gemm4Params {
            m: params.m,
            n: params.n,
            k: params.k,
            a_rs: params.a_rs,
            a_ks: params.a_ks,
            b_ks: params.b_ks,
            b_cs: params.b_cs,
            accumulate: params.accumulate,
            has_bias: params.has_bias,
            plane: 0,
        };
        gpu.kernel_3d(
            spec,
            &[
                Bind::params(&params),
                Bind::Read(a),
                Bind::Read(b),
                Bind::Read(bias),
                Bind::Write(c),
                Bind::Read(a4),
            ],
            groups,
        )
    } else {
        gpu.kernel_3d(
            spec,
            &[
                Bind::params(&params),
                Bind::Read(a),
                Bind::Read(b),
                Bind::Read(bias),
                Bind::Write(c),
            ],
            groups,
        )
    }
}

/// `c = a · bᵀ (+ bias per row) [+ c]` on gemm_nt4 for a lowered convolution (see
/// `conv::lowered`): a `[m, k]`, b `[n, k]` with k divisible by 4; with `plane` > 0 the columns
/// are pixels of images of `plane` pixels and c is stored `[n / plane, m, plane]` (NCHW).
#[allow(clippy::too_many_arguments)]
pub(crate) fn nt4_lowered(
    gpu: &Gpu,
    a: &Tensor,
    b: &Tensor,
    (m, n, k): (usize, usize, usize),
    bias_rows: Option<&Tensor>,
    plane: usize,
    c: &Tensor,
    accumulate: bool,
) -> Result<Kernel> {
    debug_assert!(k.is_multiple_of(4) && a.len() == m * k && b.len() == n * k && c.len() == m * n);
    let params = Gemm4Params {
        m: u(m),
        n: u(n),
        k: u(k),
        a_rs: u(k),
        a_ks: 1,
        b_ks: 1,
        b_cs: u(k),
        accumulate: accumulate as u32,
        has_bias: if bias_rows.is_some() { 2 } else { 0 },
        plane: u(plane),
    };
    let wg = 8;
    let (shader, entry) = if gpu.subgroup_kernels() {
        (Shader::GemmSubgroup, "gemm_nt4_sg")
    } else {
        (Shader::GemmVec4, "gemm_nt4")
    };
    gpu.kernel_3d(
        KernelSpec::new(shader, entry).constant("WG", wg as f64),
        &[
            Bind::params(&params),
            Bind::Read(a),
            Bind::Read(b),
            Bind::Read(bias_rows.unwrap_or(a)),
            Bind::Write(c),
            Bind::Read(a),
        ],
        [n.div_ceil(wg * TC) as u32, m.div_ceil(NT_TM) as u32, 1],
    )
}

/// The product through `gemm_nt4_sg` with the operands it cannot read transposed first (see
/// [`packs`]); `None` where that does not pay.
#[allow(clippy::too_many_arguments)]
fn packed(
    gpu: &Gpu,
    a: &Tensor,
    trans_a: bool,
    b: &Tensor,
    trans_b: bool,
    (m, n, k): (usize, usize, usize),
    bias: Option<&Tensor>,
    c: &Tensor,
    accumulate: bool,
) -> Result<Option<Kernel>> {
    if !gpu.subgroup_kernels() || !packs(m, n, k, trans_a, trans_b) {
        return Ok(None);
    }
    let bt = Tensor::zeros(gpu, &[n, k], "gemm Bᵀ")?;
    let to_bt = transpose::transpose4(gpu, b, k, n, &bt)?;
    let kernel = if trans_a {
        let at = Tensor::zeros(gpu, &[m, k], "gemm Aᵀ")?;
        let to_at = transpose::transpose4(gpu, a, k, m, &at)?;
        let product = gemm(gpu, &at, false, &bt, true, bias, c, accumulate)?;
        to_at.then(to_bt.then(product))
    } else {
        let product = gemm(gpu, a, false, &bt, true, bias, c, accumulate)?;
        to_bt.then(product)
    };
    Ok(Some(kernel))
}

/// Whether a product with B stored `[k, n]` (Linear's input-grad dY·W and weight-grad dYᵀ·X)
/// transposes B, and A where A is stored `[k, m]`, into scratch tensors and runs on
/// `gemm_nt4_sg`, on CPU adapters with subgroups. There the NT kernel, whose operands both
/// load as vec4s along k, runs 1.4–1.8× as fast as `gemm_nn4_sg` on 1024³ and 2048³
/// (docs/BENCHMARKS.md). A transpose reads and writes its operand once, which the product
/// repays only when the other side is long enough: measured, B's transpose pays from m ≈ 100
/// rows, A's (whose products also have a short k, a batch) from n ≈ 256 columns. The sums
/// run in gemm_nt4's order (4 k per dot product), not gemm_nn4's; the plain kernels, for
/// which transposing measured slower, keep gemm_nn4.
pub fn packs(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool) -> bool {
    !trans_b
        && transpose::fits(k, n)
        && m >= PACK_MIN_M
        && (!trans_a || (transpose::fits(k, m) && n >= PACK_MIN_N))
}

/// The shortest sides of a product for which [`packs`] transposes B, and also A.
const PACK_MIN_M: usize = 96;
const PACK_MIN_N: usize = 256;

/// Which kernel a product runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// B stored `[k, n]` with n divisible by 4: vec4 loads along n.
    Nn4,
    /// A stored `[m, k]`, B stored `[n, k]`, k divisible by 4: vec4 loads along k.
    Nt4,
    /// Anything else: scalar loads with strides.
    General,
}

/// The kernel [`gemm`] picks for these sizes and flags.
pub fn variant(_m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool) -> Variant {
    if !trans_b && n.is_multiple_of(4) {
        Variant::Nn4
    } else if trans_b && !trans_a && k.is_multiple_of(4) {
        Variant::Nt4
    } else {
        Variant::General
    }
}

/// `out[c] = [out[c] +] scale · Σ_r x[r, c]` over the rows of `x` (bias gradients).
pub fn sum_rows(
    gpu: &Gpu,
    x: &Tensor,
    out: &Tensor,
    scale: f32,
    accumulate: bool,
) -> Result<Kernel> {
    let (rows, cols) = dims(x);
    if out.len() != cols {
        return Err(Error::shape(
            "sum_rows",
            format!(
                "output has {} values for {cols} columns of {:?}",
                out.len(),
                x.shape()
            ),
        ));
    }
    let params = ReduceParams {
        rows: u(rows),
        cols: u(cols),
        accumulate: accumulate as u32,
        scale,
        slot: 0,
    };
    gpu.kernel(
        KernelSpec::new(Shader::Reduce, "sum_rows"),
        &[Bind::params(&params), Bind::Read(x), Bind::Write(out)],
        cols.div_ceil(64) as u32,
    )
}

/// `out[slot] = [out[slot] +] scale · Σ x` (a mean with `scale = 1/len`), in a fixed order.
pub fn sum_all(
    gpu: &Gpu,
    x: &Tensor,
    out: &Tensor,
    slot: usize,
    scale: f32,
    accumulate: bool,
) -> Result<Kernel> {
    if slot >= out.len() {
        return Err(Error::shape(
            "sum_all",
            format!("slot {slot} outside an output of {} values", out.len()),
        ));
    }
    let params = ReduceParams {
        rows: 1,
        cols: u(x.len()),
        accumulate: accumulate as u32,
        scale,
        slot: u(slot),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Reduce, "sum_all"),
        &[Bind::params(&params), Bind::Read(x), Bind::Write(out)],
        1,
    )
}
