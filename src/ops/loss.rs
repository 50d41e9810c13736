//! Binary cross-entropy on logits, fused with its gradient and the logged batch means.

use super::{f, same_len, u};
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

/// Where the loss's batch means go and how its gradient is scaled.
#[derive(Clone, Copy, Debug)]
pub struct BceOut {
    /// Slot of `metrics` that receives sign · mean loss (added to, if `accumulate`).
    pub loss_slot: usize,
    /// Slot of `metrics` that receives the mean of σ(logit).
    pub prob_slot: usize,
    pub accumulate: bool,
    /// Multiplies the gradient: 1/n for a mean loss.
    pub grad_scale: f32,
    /// +1 for BCE; −1 gives the minimax generator loss log(1 − σ(x)) with target 0.
    pub sign: f32,
}

/// Per-sample BCE of `logits` against `targets`; writes dL/dlogit into `grad`.
pub fn bce_logits(
    gpu: &Gpu,
    logits: &Tensor,
    targets: &Tensor,
    grad: &Tensor,
    metrics: &Tensor,
    out: BceOut,
) -> Result<Kernel> {
    same_len("bce", logits, targets)?;
    same_len("bce", logits, grad)?;
    if out.loss_slot.max(out.prob_slot) >= metrics.len() {
        return Err(Error::shape(
            "bce",
            "metric slot outside the metrics buffer",
        ));
    }
    let params = [
        u(logits.len()),
        f(out.grad_scale),
        f(out.sign),
        u(out.loss_slot),
        u(out.prob_slot),
        out.accumulate as u32,
    ];
    gpu.kernel(
        KernelSpec::new(Shader::Bce, "bce_logits"),
        &[
            Bind::Params(&params),
            Bind::Read(logits),
            Bind::Read(targets),
            Bind::Write(grad),
            Bind::Write(metrics),
        ],
        1,
    )
}
