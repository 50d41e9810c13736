//! Softmax over the last dimension, and softmax cross-entropy against integer labels fused
//! with its gradient and the batch's mean loss and accuracy (see `shaders/softmax.wgsl`).

use super::{groups_256, same_len, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `softmax.wgsl`'s parameters (`softmax` reads the first two).
    pub(crate) struct SoftmaxParams for Softmax::Params {
        n: u32,
        classes: u32,
        grad_scale: f32,
        loss_slot: u32,
        acc_slot: u32,
    }
}

/// Where the loss's batch figures go and how its gradient is scaled.
#[derive(Clone, Copy, Debug)]
pub struct SoftmaxCeOut {
    /// Slot of `metrics` that receives the mean cross-entropy over the rows.
    pub loss_slot: usize,
    /// Slot of `metrics` that receives the fraction of rows whose arg-max logit equals the label.
    pub acc_slot: usize,
    /// Multiplies the gradient: 1/n for a mean loss.
    pub grad_scale: f32,
}

/// Rows and classes of `logits`, the classes being its last dimension.
fn rows(op: &str, logits: &Tensor) -> Result<(usize, usize)> {
    match logits.shape().last() {
        Some(&classes) if classes > 0 => Ok((logits.len() / classes, classes)),
        _ => Err(Error::shape(
            op,
            format!("logits {:?} have no class dimension", logits.shape()),
        )),
    }
}

/// Row-wise softmax cross-entropy of `logits` `[n, classes]` against u32 `labels` `[n]`; writes
/// dL/dlogits = (softmax − onehot)·grad_scale into `grad` [n, classes].
///
/// A label ≥ classes marks a row to leave out: it adds 0 to the loss (whose mean still divides
/// by n), gets a zero gradient and never counts as correct. Arg-max ties go to the lowest class.
/// One workgroup reduces in a fixed order, so the figures are deterministic.
pub fn softmax_ce(
    gpu: &Gpu,
    logits: &Tensor,
    labels: &Tensor,
    grad: &Tensor,
    metrics: &Tensor,
    out: SoftmaxCeOut,
) -> Result<Kernel> {
    let (n, classes) = rows("softmax_ce", logits)?;
    same_len("softmax_ce", logits, grad)?;
    if labels.len() != n {
        return Err(Error::shape(
            "softmax_ce",
            format!(
                "labels {:?} do not hold one label for each of the {n} rows of logits {:?}",
                labels.shape(),
                logits.shape()
            ),
        ));
    }
    if out.loss_slot.max(out.acc_slot) >= metrics.len() {
        return Err(Error::shape(
            "softmax_ce",
            "metric slot outside the metrics buffer",
        ));
    }
    if out.loss_slot == out.acc_slot {
        return Err(Error::shape(
            "softmax_ce",
            "loss and accuracy would share one metric slot",
        ));
    }
    let params = SoftmaxParams {
        n: u(n),
        classes: u(classes),
        grad_scale: out.grad_scale,
        loss_slot: u(out.loss_slot),
        acc_slot: u(out.acc_slot),
    };
    gpu.kernel(
        KernelSpec::new(Shader::Softmax, "softmax_ce"),
        &[
            Bind::params(&params),
            Bind::Read(logits),
            Bind::Read(labels),
            Bind::Write(grad),
            Bind::Write(metrics),
        ],
        1,
    )
}

/// Row-wise softmax of `logits` [n, classes] into `probs` (same shape), for inference.
pub fn softmax(gpu: &Gpu, logits: &Tensor, probs: &Tensor) -> Result<Kernel> {
    let (n, classes) = rows("softmax", logits)?;
    same_len("softmax", logits, probs)?;
    let params = SoftmaxParams {
        n: u(n),
        classes: u(classes),
        ..SoftmaxParams::default()
    };
    gpu.kernel(
        KernelSpec::new(Shader::Softmax, "softmax"),
        &[
            Bind::params(&params),
            Bind::Read(logits),
            Bind::Write(probs),
        ],
        groups_256(n),
    )
}
