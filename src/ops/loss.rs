//! Binary cross-entropy, the hinge loss and the least-squares loss on D's outputs, each fused
//! with its gradient and the logged batch means; and the L1 distance between two tensors.

use super::{same_len, u};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `gan_loss.wgsl`'s parameters.
    pub(crate) struct LossParams for GanLoss::Params {
        n: u32,
        grad_scale: f32,
        sign: f32,
        loss_slot: u32,
        prob_slot: u32,
        accumulate: u32,
        kind: u32,
    }
}

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

fn check(
    op: &str,
    logits: &Tensor,
    targets: &Tensor,
    grad: &Tensor,
    metrics: &Tensor,
    out: BceOut,
) -> Result<()> {
    same_len(op, logits, targets)?;
    same_len(op, logits, grad)?;
    if out.loss_slot.max(out.prob_slot) >= metrics.len() {
        return Err(Error::shape(op, "metric slot outside the metrics buffer"));
    }
    Ok(())
}

/// Which loss `shaders/gan_loss.wgsl` computes.
#[derive(Clone, Copy)]
enum Kind {
    Bce = 0,
    HingeD = 1,
    HingeG = 2,
    LeastSquares = 3,
    Wasserstein = 4,
}

fn gan_loss(
    gpu: &Gpu,
    (logits, targets, grad, metrics): (&Tensor, &Tensor, &Tensor, &Tensor),
    out: BceOut,
    kind: Kind,
) -> Result<Kernel> {
    let op = match kind {
        Kind::Bce => "bce",
        Kind::HingeD | Kind::HingeG => "hinge",
        Kind::LeastSquares => "least squares",
        Kind::Wasserstein => "wasserstein",
    };
    check(op, logits, targets, grad, metrics, out)?;
    let params = LossParams {
        n: u(logits.len()),
        grad_scale: out.grad_scale,
        sign: out.sign,
        loss_slot: u(out.loss_slot),
        prob_slot: u(out.prob_slot),
        accumulate: out.accumulate as u32,
        kind: kind as u32,
    };
    gpu.kernel(
        KernelSpec::new(Shader::GanLoss, "gan_loss"),
        &[
            Bind::params(&params),
            Bind::Read(logits),
            Bind::Read(targets),
            Bind::Write(grad),
            Bind::Write(metrics),
        ],
        1,
    )
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
    gan_loss(gpu, (logits, targets, grad, metrics), out, Kind::Bce)
}

/// D's hinge loss per sample, `t·relu(1 − x) + (1 − t)·relu(1 + x)` for target `t` (1 real,
/// 0 fake); writes dL/dlogit into `grad` (0 on the margins ±1 themselves). `out.prob_slot`
/// receives the mean σ(logit), as with BCE.
pub fn hinge_logits(
    gpu: &Gpu,
    logits: &Tensor,
    targets: &Tensor,
    grad: &Tensor,
    metrics: &Tensor,
    out: BceOut,
) -> Result<Kernel> {
    gan_loss(gpu, (logits, targets, grad, metrics), out, Kind::HingeD)
}

/// G's hinge loss, `−logit` per sample; writes dL/dlogit (`−grad_scale`) into `grad`.
/// `out.prob_slot` receives the mean σ(logit).
pub fn hinge_generator(
    gpu: &Gpu,
    logits: &Tensor,
    grad: &Tensor,
    metrics: &Tensor,
    out: BceOut,
) -> Result<Kernel> {
    // The shader's targets binding is not read for G; the logits stand in for it.
    gan_loss(gpu, (logits, logits, grad, metrics), out, Kind::HingeG)
}

/// The least-squares loss per sample, `(x − t)²` for output `x` and target `t` (LSGAN: D's
/// targets 1 real and 0 fake, G's 1); writes dL/dx into `grad`. `out.prob_slot` receives
/// the mean σ(x), as with BCE.
pub fn least_squares(
    gpu: &Gpu,
    outputs: &Tensor,
    targets: &Tensor,
    grad: &Tensor,
    metrics: &Tensor,
    out: BceOut,
) -> Result<Kernel> {
    gan_loss(
        gpu,
        (outputs, targets, grad, metrics),
        out,
        Kind::LeastSquares,
    )
}

/// The Wasserstein critic loss per sample, `(1 − 2t)·x` for score `x` and target `t` (`−x`
/// for a real sample, `x` for a fake one; G's loss is target 1); writes dL/dx into `grad`.
/// `out.prob_slot` receives the mean σ(x), as with BCE.
pub fn wasserstein(
    gpu: &Gpu,
    outputs: &Tensor,
    targets: &Tensor,
    grad: &Tensor,
    metrics: &Tensor,
    out: BceOut,
) -> Result<Kernel> {
    gan_loss(
        gpu,
        (outputs, targets, grad, metrics),
        out,
        Kind::Wasserstein,
    )
}

shader_params! {
    /// `l1.wgsl`'s parameters.
    pub(crate) struct L1Params for L1::Params {
        n: u32,
        weight: f32,
        grad_scale: f32,
        loss_slot: u32,
        accumulate: u32,
    }
}

/// Where the L1 loss's mean goes and how its gradient is scaled.
#[derive(Clone, Copy, Debug)]
pub struct L1Out {
    /// Slot of `metrics` that receives `weight` · mean |a − b| (added to, if `accumulate`).
    pub loss_slot: usize,
    pub accumulate: bool,
    /// The loss's weight (pix2pix's λ = 100, CycleGAN's 10).
    pub weight: f32,
    /// Multiplies the gradient besides `weight`: 1/n for a mean loss, or a batch's mean
    /// when `a` is one of several.
    pub grad_scale: f32,
}

/// The L1 distance `weight` · mean |a − b| into `metrics`, its gradient with respect to `a`,
/// `weight · grad_scale · sign(a − b)` (0 where they are equal, as PyTorch's), into `grad`.
pub fn l1(
    gpu: &Gpu,
    (a, b): (&Tensor, &Tensor),
    grad: &Tensor,
    metrics: &Tensor,
    out: L1Out,
) -> Result<Kernel> {
    same_len("l1", a, b)?;
    same_len("l1", a, grad)?;
    if out.loss_slot >= metrics.len() {
        return Err(Error::shape("l1", "metric slot outside the metrics buffer"));
    }
    let params = L1Params {
        n: u(a.len()),
        weight: out.weight,
        grad_scale: out.grad_scale,
        loss_slot: u(out.loss_slot),
        accumulate: out.accumulate as u32,
    };
    gpu.kernel(
        KernelSpec::new(Shader::L1, "l1"),
        &[
            Bind::params(&params),
            Bind::Read(a),
            Bind::Read(b),
            Bind::Write(grad),
            Bind::Write(metrics),
        ],
        1,
    )
}

/// A loss recorded for a user's own step: its kernels, the batch-mean loss `value` (`[1]`) and
/// its gradient at the logits `grad`, both on the GPU.
pub struct Loss {
    /// The dispatches that compute both, to record into the step.
    pub kernels: Vec<Kernel>,
    /// The mean loss, `[1]`.
    pub value: Tensor,
    /// d loss / d logits, the logits' shape.
    pub grad: Tensor,
}

/// The mean binary cross-entropy of `logits` against `targets` (PyTorch's
/// `BCEWithLogitsLoss`), with its gradient; no metric slots to manage.
pub fn bce_with_logits(gpu: &Gpu, logits: &Tensor, targets: &Tensor) -> Result<Loss> {
    let n = logits.len();
    let grad = Tensor::zeros(gpu, logits.shape(), "dloss/dlogits")?;
    let means = Tensor::zeros(gpu, &[2], "loss and mean probability")?;
    let out = BceOut {
        loss_slot: 0,
        prob_slot: 1,
        accumulate: false,
        grad_scale: 1.0 / n.max(1) as f32,
        sign: 1.0,
    };
    let kernel = bce_logits(gpu, logits, targets, &grad, &means, out)?;
    Ok(Loss {
        kernels: vec![kernel],
        value: means.slice(0, &[1]),
        grad,
    })
}
