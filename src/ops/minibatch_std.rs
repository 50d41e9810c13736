//! Minibatch standard deviation (Karras et al. 2018, ProGAN): one extra channel holding how
//! much the batch varies, so a discriminator can see a generator's lack of variety.
//!
//! `x` `[N, C, H, W]` (or `[N, F]`, as `C = F`, `H = W = 1`) gives `y` `[N, C + 1, H, W]`:
//! the first `C` channels copy `x`, and the extra one holds, at every position,
//! `s = mean over (c, h, w) of sqrt(var_n(x[:, c, h, w]) + eps)` with the biased variance
//! over the whole batch. The forward saves `stats = [mean_0..mean_K, σ_0..σ_K, s]` per column
//! (`K = C·H·W`) for the backward,
//! `dx[n, j] = dy[n, j] + Σ(dy[:, C, :, :]) · (x[n, j] − mean_j)/(N·K·σ_j)`.
//!
//! Reductions run in a fixed order without atomics (see `shaders/minibatch_std.wgsl`), and
//! each invocation's loops stay below the loop limit of CPU adapters ([`Gpu::loop_limit`]).
//!
//! Buffers: a tensor that a kernel writes must not share a buffer with one it reads, so `y`,
//! `stats` and `dx` each have their own.

use super::{groups_256, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

/// ProGAN's epsilon under the square root.
pub const EPS: f32 = 1e-8;

/// Invocations of the shader's one-workgroup reductions (`WG` there).
const REDUCE_WG: usize = 256;
/// Columns per workgroup of `mbstd_columns` (`COLS_WG` there).
const COLS_WG: usize = 64;

/// The layout the op sees: `x` is `[batch, channels, spatial]`, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MbstdGeom {
    pub batch: usize,
    pub channels: usize,
    pub spatial: usize,
}

impl MbstdGeom {
    /// The geometry of an input of shape `[N, C, ...]` (`[N, F]` has `spatial = 1`).
    pub fn of_shape(shape: &[usize]) -> Result<MbstdGeom> {
        match shape {
            [batch, channels, rest @ ..] => Ok(MbstdGeom {
                batch: *batch,
                channels: *channels,
                spatial: rest.iter().product(),
            }),
            _ => Err(Error::shape(
                "minibatch std",
                format!("needs [batch, channels, ...] or [batch, features], got {shape:?}"),
            )),
        }
    }

    /// Columns whose batch deviations are averaged: `channels · spatial`.
    pub fn columns(&self) -> usize {
        self.channels * self.spatial
    }

    /// Values of `x`.
    pub fn input_len(&self) -> usize {
        self.batch * self.columns()
    }

    /// Values of `y`: one more channel.
    pub fn output_len(&self) -> usize {
        self.batch * (self.channels + 1) * self.spatial
    }

    /// Values of the saved statistics: a mean and a σ per column, then `s`.
    pub fn stats_len(&self) -> usize {
        2 * self.columns() + 1
    }

    fn check(&self, op: &str, gpu: &Gpu) -> Result<()> {
        if self.batch == 0 || self.channels == 0 || self.spatial == 0 {
            return Err(Error::shape(op, format!("{self:?} has a zero dimension")));
        }
        // Shaders index y and stats with u32.
        let out = self
            .channels
            .checked_add(1)
            .and_then(|c| c.checked_mul(self.batch))
            .and_then(|v| v.checked_mul(self.spatial));
        let stats = self
            .channels
            .checked_mul(self.spatial)
            .and_then(|k| k.checked_mul(2));
        let fits = |v: Option<usize>| v.is_some_and(|n| n < u32::MAX as usize);
        if !(fits(out) && fits(stats)) {
            return Err(Error::shape(
                op,
                format!("{self:?} has 2^32 or more output or saved values"),
            ));
        }
        if let Some(limit) = gpu.loop_limit() {
            // Each loop's exit test counts too: a column's two passes over the batch, and the
            // one-workgroup reductions' strided passes over the σ_j and the extra channel.
            let per_wg = |n: usize| n.div_ceil(REDUCE_WG) + 1;
            let columns = 2 * (self.batch + 1);
            let finish = per_wg(self.columns()) + per_wg(self.batch * self.spatial) + 9;
            if columns.max(finish) + 16 >= limit {
                return Err(Error::shape(
                    op,
                    format!(
                        "{self:?}: a batch this large exceeds the loop limit ({limit}) of shaders on this CPU adapter"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn check_len(op: &str, what: &str, t: &Tensor, want: usize, g: &MbstdGeom) -> Result<()> {
    if t.len() != want {
        return Err(Error::shape(
            op,
            format!(
                "{what} {:?} has {} values; {g:?} needs {want}",
                t.shape(),
                t.len()
            ),
        ));
    }
    Ok(())
}

shader_params! {
    /// `minibatch_std.wgsl`'s parameters.
    pub(crate) struct MbstdParams for MinibatchStd::Params {
        batch: u32,
        cols: u32,
        spatial: u32,
        flags: u32,
        eps: f32,
    }
}

fn params(g: &MbstdGeom, flags: u32, eps: f32) -> MbstdParams {
    MbstdParams {
        batch: u(g.batch),
        cols: u(g.columns()),
        spatial: u(g.spatial),
        flags,
        eps,
    }
}

/// Forward: writes `y` (`[N, C + 1, spatial]`) and `stats` ([`MbstdGeom::stats_len`]
/// values) from `x`. Two kernels: the per-column statistics (and the copy), then `s`.
pub fn forward(
    gpu: &Gpu,
    g: &MbstdGeom,
    x: &Tensor,
    y: &Tensor,
    stats: &Tensor,
    eps: f32,
) -> Result<Vec<Kernel>> {
    let op = "minibatch std forward";
    g.check(op, gpu)?;
    check_len(op, "x", x, g.input_len(), g)?;
    check_len(op, "y", y, g.output_len(), g)?;
    check_len(op, "stats", stats, g.stats_len(), g)?;
    if !(eps > 0.0 && eps.is_finite()) {
        return Err(Error::shape(op, format!("eps {eps} must be positive")));
    }
    let p = params(g, 0, eps);
    let columns = gpu.kernel(
        KernelSpec::new(Shader::MinibatchStd, "mbstd_columns"),
        &[
            Bind::params(&p),
            Bind::Read(x),
            Bind::Write(y),
            Bind::Write(stats),
        ],
        g.columns().div_ceil(COLS_WG) as u32,
    )?;
    let finish = gpu.kernel(
        KernelSpec::new(Shader::MinibatchStd, "mbstd_finish"),
        &[Bind::params(&p), Bind::Write(stats), Bind::Write(y)],
        1,
    )?;
    Ok(vec![columns, finish])
}

/// Backward from the `stats` the forward saved: `dx` gets (or, with `accumulate`, has added)
/// `dy[:, :C] + Σ(dy[:, C]) · ∂s/∂x`. Two kernels: the extra channel's gradient summed, then
/// `dx` elementwise.
pub fn backward(
    gpu: &Gpu,
    g: &MbstdGeom,
    x: &Tensor,
    dy: &Tensor,
    stats: &Tensor,
    dx: &Tensor,
    accumulate: bool,
) -> Result<Vec<Kernel>> {
    let op = "minibatch std backward";
    g.check(op, gpu)?;
    check_len(op, "x", x, g.input_len(), g)?;
    check_len(op, "dy", dy, g.output_len(), g)?;
    check_len(op, "stats", stats, g.stats_len(), g)?;
    check_len(op, "dx", dx, g.input_len(), g)?;
    let p = params(g, accumulate as u32, 0.0);
    let gsum = Tensor::zeros(gpu, &[1], "minibatch std: Σ dy of the extra channel")?;
    let sum = gpu.kernel(
        KernelSpec::new(Shader::MinibatchStd, "mbstd_grad_sum"),
        &[Bind::params(&p), Bind::Read(dy), Bind::Write(&gsum)],
        1,
    )?;
    let dx_k = gpu.kernel(
        KernelSpec::new(Shader::MinibatchStd, "mbstd_backward"),
        &[
            Bind::params(&p),
            Bind::Read(x),
            Bind::Read(dy),
            Bind::Read(stats),
            Bind::Read(&gsum),
            Bind::Write(dx),
        ],
        groups_256(g.input_len()),
    )?;
    Ok(vec![sum, dx_k])
}

/// Forward-mode derivative for a gradient penalty's second-order pass: writes the output's
/// tangent `ydot` (ẋ, then `ṡ = Σ ∂s/∂x · ẋ` in the extra channel) for the input's tangent
/// `xdot` at the primal `x` with its forward's `stats`, and saves in `tstats` what
/// [`curvature`] needs, laid out as `stats`: `mean_n ẋ` and `σ̇` per column, then `ṡ`. Two kernels: the per-column
/// part (and the copy), then the forward's own `s` reduction on the tangent's columns.
pub fn tangent(
    gpu: &Gpu,
    g: &MbstdGeom,
    x: &Tensor,
    stats: &Tensor,
    xdot: &Tensor,
    ydot: &Tensor,
    tstats: &Tensor,
) -> Result<Vec<Kernel>> {
    let op = "minibatch std tangent";
    g.check(op, gpu)?;
    check_len(op, "x", x, g.input_len(), g)?;
    check_len(op, "stats", stats, g.stats_len(), g)?;
    check_len(op, "xdot", xdot, g.input_len(), g)?;
    check_len(op, "ydot", ydot, g.output_len(), g)?;
    check_len(op, "tstats", tstats, g.stats_len(), g)?;
    let p = params(g, 0, 0.0);
    let columns = gpu.kernel(
        KernelSpec::new(Shader::MinibatchStd, "mbstd_tangent_columns"),
        &[
            Bind::params(&p),
            Bind::Read(x),
            Bind::Read(stats),
            Bind::Read(xdot),
            Bind::Write(ydot),
            Bind::Write(tstats),
        ],
        g.columns().div_ceil(COLS_WG) as u32,
    )?;
    let finish = gpu.kernel(
        KernelSpec::new(Shader::MinibatchStd, "mbstd_finish"),
        &[Bind::params(&p), Bind::Write(tstats), Bind::Write(ydot)],
        1,
    )?;
    Ok(vec![columns, finish])
}

/// The tangent's reverse into the primal input: `c` gets (or, with `accumulate`, has added)
/// `Σ(dydot[:, C]) · ∂ṡ/∂x`, from the `stats` of the forward and the `tstats` of
/// [`tangent`]. (The reverse into the tangent's input is [`backward`] with `dydot`.) Two
/// kernels: the extra channel's cotangent summed, then `c` elementwise.
#[allow(clippy::too_many_arguments)]
pub fn curvature(
    gpu: &Gpu,
    g: &MbstdGeom,
    x: &Tensor,
    stats: &Tensor,
    xdot: &Tensor,
    tstats: &Tensor,
    dydot: &Tensor,
    c: &Tensor,
    accumulate: bool,
) -> Result<Vec<Kernel>> {
    let op = "minibatch std curvature";
    g.check(op, gpu)?;
    check_len(op, "x", x, g.input_len(), g)?;
    check_len(op, "stats", stats, g.stats_len(), g)?;
    check_len(op, "xdot", xdot, g.input_len(), g)?;
    check_len(op, "tstats", tstats, g.stats_len(), g)?;
    check_len(op, "dydot", dydot, g.output_len(), g)?;
    check_len(op, "c", c, g.input_len(), g)?;
    let p = params(g, accumulate as u32, 0.0);
    let gsum = Tensor::zeros(gpu, &[1], "minibatch std: Σ of the tangent's extra channel")?;
    let sum = gpu.kernel(
        KernelSpec::new(Shader::MinibatchStd, "mbstd_grad_sum"),
        &[Bind::params(&p), Bind::Read(dydot), Bind::Write(&gsum)],
        1,
    )?;
    let c_k = gpu.kernel(
        KernelSpec::new(Shader::MinibatchStd, "mbstd_curvature"),
        &[
            Bind::params(&p),
            Bind::Read(x),
            Bind::Read(xdot),
            Bind::Read(stats),
            Bind::Read(&gsum),
            Bind::Write(c),
            Bind::Read(tstats),
        ],
        groups_256(g.input_len()),
    )?;
    Ok(vec![sum, c_k])
}
