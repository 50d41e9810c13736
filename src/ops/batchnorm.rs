//! Batch normalisation: BN2d over N·H·W per channel and BN1d over N (the same kernels with
//! `spatial = 1`), matching PyTorch's `BatchNorm1d`/`BatchNorm2d` in training and eval mode.
//!
//! The training forward and the backward are one kernel each. The forward takes the mean,
//! then Σd and Σd² of the deviations `d = x − mean₀` (the corrected two-pass algorithm), so
//! inputs such as 100 ± 0.01 keep their variance; it saves
//! `stats = [mean_0..mean_C, rstd_0..rstd_C]` for the backward and updates the running
//! statistics. Reductions run in a fixed order without atomics, so results are bit-identical
//! from run to run (on one adapter and plan). Two layouts compute the same thing:
//! one workgroup per channel with a tree in workgroup memory (GPUs, `spatial > 1`), or one
//! invocation per channel (BN1d on GPUs, everything on CPU adapters); see `shaders/batchnorm.wgsl`.
//!
//! Buffers: a tensor that a kernel writes must not share a buffer with one it reads (wgpu
//! rejects such a dispatch), so `y` is not `x`, `gamma`/`beta` do not live in the buffer of
//! `stats` or the running statistics, and `dgamma`/`dbeta` not in the buffer of `gamma`,
//! `x`, `dy` or `stats`.

use std::cell::Cell;

use super::u;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

/// The layout batch norm sees: `x` is `[batch, channels, spatial]`, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BnGeom {
    pub batch: usize,
    pub channels: usize,
    pub spatial: usize,
}

impl BnGeom {
    /// Values per channel that the statistics run over: `batch · spatial`.
    pub fn per_channel(&self) -> usize {
        self.batch * self.spatial
    }

    /// Elements of `x`.
    pub fn len(&self) -> usize {
        self.batch * self.channels * self.spatial
    }

    /// Whether any dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a kernel maps onto channels, with its workgroup size and count.
struct Plan {
    cols: bool,
    wg: u32,
    groups: u32,
}

thread_local! {
    static FORCED: Cell<Option<(u32, bool)>> = const { Cell::new(None) };
}

/// Builds the kernels made inside `f` (on this thread) with the given workgroup size and
/// layout (`cols`: one invocation per channel; else one workgroup per channel) instead of
/// the adapter's choice, so that tests on a CPU adapter also run what GPUs get.
/// `wg` must be a power of two from 1 to 256.
#[doc(hidden)]
pub fn with_plan<T>(wg: u32, cols: bool, f: impl FnOnce() -> T) -> T {
    assert!(wg.is_power_of_two() && wg <= 256, "workgroup size {wg}");
    let old = FORCED.with(|c| c.replace(Some((wg, cols))));
    let out = f();
    FORCED.with(|c| c.set(old));
    out
}

fn too_large(op: &str, g: &BnGeom) -> Error {
    Error::shape(
        op,
        format!("{g:?}: a batch this large exceeds the loop limit of shaders on this CPU adapter"),
    )
}

impl Plan {
    fn new(op: &str, gpu: &Gpu, g: &BnGeom) -> Result<Plan> {
        // A CPU adapter leaves every loop of an invocation past its limit: up to 3 passes
        // over `batch` runs of `per_run` values, each loop's exit test counted.
        let limit = gpu.loop_limit().unwrap_or(usize::MAX);
        let cost = |per_run: usize| 3 * g.batch * (per_run + 2) + 64;
        let forced = FORCED.with(|c| c.get());
        let (wg, cols) = match forced {
            Some(plan) => plan,
            None if gpu.cpu_layouts() => {
                // A CPU adapter runs a workgroup as SIMD batches of 8 lanes and pays for
                // every barrier: one invocation per channel, streaming through its runs, is
                // 1.4-1.9x faster than a workgroup per channel at 7x7 and 14x14, and 7x
                // faster for BN1d. Past the loop limit, a workgroup per channel shares the
                // runs.
                if cost(g.spatial) < limit {
                    (8, true)
                } else {
                    let wg = [8u32, 16, 32, 64, 128, 256]
                        .into_iter()
                        .find(|&wg| cost(g.spatial.div_ceil(wg as usize)) < limit)
                        .ok_or_else(|| too_large(op, g))?;
                    (wg, false)
                }
            }
            // BN1d: neighbouring invocations read neighbouring channels.
            None if g.spatial == 1 => (64, true),
            // GPUs want enough lanes to cover a sample's run, and coalesced loads.
            None => (g.spatial.next_power_of_two().clamp(32, 256) as u32, false),
        };
        let per_run = if cols {
            g.spatial
        } else {
            g.spatial.div_ceil(wg as usize)
        };
        if cost(per_run) >= limit {
            return Err(too_large(op, g));
        }
        let groups = if cols {
            g.channels.div_ceil(wg as usize) as u32
        } else {
            u(g.channels)
        };
        Ok(Plan { cols, wg, groups })
    }

    fn spec(&self, rows: &'static str, cols: &'static str) -> KernelSpec {
        KernelSpec::new(Shader::BatchNorm, if self.cols { cols } else { rows })
            .constant("WG", self.wg as f64)
    }
}

fn check_geom(op: &str, g: &BnGeom) -> Result<()> {
    match g
        .batch
        .checked_mul(g.channels)
        .and_then(|v| v.checked_mul(g.spatial))
    {
        Some(0) => Err(Error::shape(op, format!("{g:?} has a zero dimension"))),
        Some(n) if n <= u32::MAX as usize => Ok(()),
        _ => Err(Error::shape(
            op,
            format!("{g:?} has more than 2^32 elements"),
        )),
    }
}

fn check_len(op: &str, what: &str, t: &Tensor, want: usize, g: &BnGeom) -> Result<()> {
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
    /// `batchnorm.wgsl`'s parameters (`flags` for the backward, see the shader).
    pub(crate) struct BnParams for BatchNorm::Params {
        batch: u32,
        channels: u32,
        spatial: u32,
        flags: u32,
        momentum: f32,
        eps: f32,
    }
}

fn params(g: &BnGeom, flags: u32, momentum: f32, eps: f32) -> BnParams {
    BnParams {
        batch: u(g.batch),
        channels: u(g.channels),
        spatial: u(g.spatial),
        flags,
        momentum,
        eps,
    }
}

/// Training forward: writes `y`, `stats` (`[mean_0..mean_C, rstd_0..rstd_C]`) and updates
/// `running_mean`/`running_var` in place:
/// `running = (1 − momentum)·running + momentum·batch_stat`, with the unbiased variance
/// (`var·M/(M − 1)`, or `var` when `M = 1`), as PyTorch does.
#[allow(clippy::too_many_arguments)]
pub fn train_forward(
    gpu: &Gpu,
    g: &BnGeom,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    y: &Tensor,
    stats: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f32,
    eps: f32,
) -> Result<Vec<Kernel>> {
    let op = "batch norm forward";
    check_geom(op, g)?;
    check_len(op, "x", x, g.len(), g)?;
    check_len(op, "y", y, g.len(), g)?;
    check_len(op, "gamma", gamma, g.channels, g)?;
    check_len(op, "beta", beta, g.channels, g)?;
    check_len(op, "stats", stats, 2 * g.channels, g)?;
    check_len(op, "running_mean", running_mean, g.channels, g)?;
    check_len(op, "running_var", running_var, g.channels, g)?;
    let p = params(g, 0, momentum, eps);
    let plan = Plan::new(op, gpu, g)?;
    let k = gpu.kernel(
        plan.spec("bn_train_forward", "bn_train_forward_cols"),
        &[
            Bind::params(&p),
            Bind::Read(x),
            Bind::Read(gamma),
            Bind::Read(beta),
            Bind::Write(y),
            Bind::Write(stats),
            Bind::Write(running_mean),
            Bind::Write(running_var),
        ],
        plan.groups,
    )?;
    Ok(vec![k])
}

/// Eval forward: `y = γ·(x − running_mean)/sqrt(running_var + eps) + β`.
#[allow(clippy::too_many_arguments)]
pub fn eval_forward(
    gpu: &Gpu,
    g: &BnGeom,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    y: &Tensor,
    eps: f32,
) -> Result<Vec<Kernel>> {
    let op = "batch norm eval forward";
    check_geom(op, g)?;
    check_len(op, "x", x, g.len(), g)?;
    check_len(op, "y", y, g.len(), g)?;
    check_len(op, "gamma", gamma, g.channels, g)?;
    check_len(op, "beta", beta, g.channels, g)?;
    check_len(op, "running_mean", running_mean, g.channels, g)?;
    check_len(op, "running_var", running_var, g.channels, g)?;
    let p = params(g, 0, 0.0, eps);
    let plan = Plan::new(op, gpu, g)?;
    let k = gpu.kernel(
        plan.spec("bn_eval_forward", "bn_eval_forward_cols"),
        &[
            Bind::params(&p),
            Bind::Read(x),
            Bind::Read(gamma),
            Bind::Read(beta),
            Bind::Write(y),
            Bind::Read(running_mean),
            Bind::Read(running_var),
        ],
        plan.groups,
    )?;
    Ok(vec![k])
}

/// Backward of the training forward, from the `stats` it saved. `dx` is written when given;
/// `dgamma`/`dbeta` are written, or added to when `accumulate_params`, when given. `None`
/// skips them (D's parameters during the generator step); with both `None` there is nothing
/// to do and no kernel.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    gpu: &Gpu,
    g: &BnGeom,
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    stats: &Tensor,
    dx: Option<&Tensor>,
    dgamma_dbeta: Option<(&Tensor, &Tensor)>,
    accumulate_params: bool,
) -> Result<Vec<Kernel>> {
    backward_into(
        gpu,
        g,
        x,
        dy,
        gamma,
        stats,
        dx.map(|d| (d, false)),
        dgamma_dbeta,
        accumulate_params,
    )
}

/// As [`backward`], with `dx` given as `(tensor, accumulate)`: the input gradient is added to
/// the tensor when `accumulate` is set (an input that feeds several layers).
#[allow(clippy::too_many_arguments)]
pub fn backward_into(
    gpu: &Gpu,
    g: &BnGeom,
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    stats: &Tensor,
    dx: Option<(&Tensor, bool)>,
    dgamma_dbeta: Option<(&Tensor, &Tensor)>,
    accumulate_params: bool,
) -> Result<Vec<Kernel>> {
    let op = "batch norm backward";
    check_geom(op, g)?;
    check_len(op, "x", x, g.len(), g)?;
    check_len(op, "dy", dy, g.len(), g)?;
    check_len(op, "gamma", gamma, g.channels, g)?;
    check_len(op, "stats", stats, 2 * g.channels, g)?;
    if let Some((d, _)) = dx {
        check_len(op, "dx", d, g.len(), g)?;
    }
    if let Some((dg, db)) = dgamma_dbeta {
        check_len(op, "dgamma", dg, g.channels, g)?;
        check_len(op, "dbeta", db, g.channels, g)?;
    }
    if dx.is_none() && dgamma_dbeta.is_none() {
        return Ok(Vec::new());
    }
    let mut flags = 0;
    if let Some((_, acc)) = dx {
        flags |= 1 | (acc as u32) << 1;
    }
    if dgamma_dbeta.is_some() {
        flags |= 4 | (accumulate_params as u32) << 3;
    }
    // A skipped output still needs a writable binding of its own: a one-value placeholder.
    let unused = |what| Tensor::zeros(gpu, &[1], what);
    let dx_t = match dx {
        Some((d, _)) => d.clone(),
        None => unused("batch norm backward: no dx")?,
    };
    let (dg_t, db_t) = match dgamma_dbeta {
        Some((dg, db)) => (dg.clone(), db.clone()),
        None => (
            unused("batch norm backward: no dgamma")?,
            unused("batch norm backward: no dbeta")?,
        ),
    };
    let p = params(g, flags, 0.0, 0.0);
    let plan = Plan::new(op, gpu, g)?;
    let k = gpu.kernel(
        plan.spec("bn_backward", "bn_backward_cols"),
        &[
            Bind::params(&p),
            Bind::Read(x),
            Bind::Read(gamma),
            Bind::Read(dy),
            Bind::Read(stats),
            Bind::Write(&dx_t),
            Bind::Write(&dg_t),
            Bind::Write(&db_t),
        ],
        plan.groups,
    )?;
    Ok(vec![k])
}
