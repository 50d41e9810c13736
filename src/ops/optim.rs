//! Optimiser steps over a network's flat parameter buffer: one dispatch per network.

use super::{groups_256, same_len, u, Clock};
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `adam.wgsl`'s parameters: the rates, and the clock of the bias correction's step.
    pub(crate) struct AdamParams for Adam::AdamParams {
        n: u32,
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        t_mul: u32,
        t_add: u32,
        decay_from: u32,
        decay_to: u32,
    }
}

shader_params! {
    /// `sgd.wgsl`'s parameters: the rate schedule, the momentum ramp and the clock.
    pub(crate) struct SgdParams for Sgd::SgdParams {
        n: u32,
        lr: f32,
        decay: f32,
        min_lr: f32,
        momentum0: f32,
        momentum1: f32,
        ramp_start: u32,
        ramp_end: u32,
        t_mul: u32,
        t_add: u32,
    }
}

/// An optimiser and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// Adam with PyTorch's bias correction.
    Adam {
        /// The learning rate.
        lr: f32,
        /// Decay of the first moment (β₁).
        beta1: f32,
        /// Decay of the second moment (β₂).
        beta2: f32,
        /// Added to the second moment's square root.
        eps: f32,
    },
    /// Adam whose rate stays `lr` until update `from` (0-based) and then falls linearly, to
    /// zero at update `to`: the schedule of CycleGAN's paper (constant for the first half of
    /// training, then linearly to zero). [`Optimizer::decaying`] makes one from Adam.
    AdamLinearDecay {
        /// The learning rate before the decay.
        lr: f32,
        /// Decay of the first moment (β₁).
        beta1: f32,
        /// Decay of the second moment (β₂).
        beta2: f32,
        /// Added to the second moment's square root.
        eps: f32,
        /// The first update at a lowered rate.
        from: u32,
        /// The update whose rate is zero; after `from`.
        to: u32,
    },
    /// SGD with momentum, an exponential learning-rate decay and a linear momentum ramp
    /// (Goodfellow et al. 2014): lr_t = max(lr / decay^t, min_lr); momentum goes from
    /// `momentum0` to `momentum1` between updates `ramp_start` and `ramp_end`.
    Sgd {
        /// The first update's learning rate.
        lr: f32,
        /// The rate is divided by this after each update (1: constant).
        decay: f32,
        /// The rate never falls below this.
        min_lr: f32,
        /// Momentum until update `ramp_start`.
        momentum0: f32,
        /// Momentum from update `ramp_end` on.
        momentum1: f32,
        /// Where the momentum ramp starts.
        ramp_start: u32,
        /// Where it ends.
        ramp_end: u32,
    },
}

impl Optimizer {
    /// Adam as DCGAN uses it: lr 2e-4, β = (0.5, 0.999), ε = 1e-8.
    pub fn dcgan_adam() -> Optimizer {
        Optimizer::Adam {
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Plain SGD at a fixed rate, no momentum.
    pub fn sgd(lr: f32) -> Optimizer {
        Optimizer::Sgd {
            lr,
            decay: 1.0,
            min_lr: 0.0,
            momentum0: 0.0,
            momentum1: 0.0,
            ramp_start: 0,
            ramp_end: 0,
        }
    }

    /// Adam with its rate decayed linearly from update `from` (0-based) to zero at update
    /// `to`; an error for SGD (it has its own schedule) or unless `from < to`.
    pub fn decaying(self, from: u32, to: u32) -> Result<Optimizer> {
        match self {
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
            }
            | Optimizer::AdamLinearDecay {
                lr,
                beta1,
                beta2,
                eps,
                ..
            } if from < to => Ok(Optimizer::AdamLinearDecay {
                lr,
                beta1,
                beta2,
                eps,
                from,
                to,
            }),
            Optimizer::Sgd { .. } => Err(Error::Config(
                "a linear rate decay is for Adam; SGD has its own schedule".into(),
            )),
            _ => Err(Error::Config(format!(
                "a linear rate decay needs its start before its end, got {from} and {to}"
            ))),
        }
    }

    /// The same optimiser with its learning rate times `factor` (a step schedule's drop).
    pub fn lowered(mut self, factor: f32) -> Optimizer {
        match &mut self {
            Optimizer::Adam { lr, .. }
            | Optimizer::AdamLinearDecay { lr, .. }
            | Optimizer::Sgd { lr, .. } => *lr *= factor,
        }
        self
    }

    fn validate(&self) -> Result<()> {
        let ok = match *self {
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                lr >= 0.0 && (0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2) && eps > 0.0
            }
            Optimizer::AdamLinearDecay {
                lr,
                beta1,
                beta2,
                eps,
                from,
                to,
            } => {
                let adam = Optimizer::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                };
                from < to && adam.validate().is_ok()
            }
            Optimizer::Sgd {
                lr,
                decay,
                momentum0,
                momentum1,
                ..
            } => {
                lr >= 0.0
                    && decay > 0.0
                    && (0.0..1.0).contains(&momentum0)
                    && (0.0..1.0).contains(&momentum1)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "optimizer settings out of range: {self:?}"
            )))
        }
    }

    /// The step kernel updating a network's parameters from their gradients.
    pub fn step_params(
        &self,
        gpu: &Gpu,
        clock: Clock,
        state: &Tensor,
        p: &crate::nn::ParamSet,
    ) -> Result<Kernel> {
        self.step(gpu, clock, state, &p.values, &p.grads, &p.m1, &p.m2)
    }

    /// The step kernel updating `param` from `grad` with moment buffers `m1` (and `m2` for
    /// Adam), all of one length.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &self,
        gpu: &Gpu,
        clock: Clock,
        state: &Tensor,
        param: &Tensor,
        grad: &Tensor,
        m1: &Tensor,
        m2: &Tensor,
    ) -> Result<Kernel> {
        self.validate()?;
        same_len("optimizer", param, grad)?;
        same_len("optimizer", param, m1)?;
        same_len("optimizer", param, m2)?;
        // A vec4 per invocation where the length allows (bit-identical, about twice as fast on
        // CPU adapters, like the activations' vec4 entries).
        let (entry, items) = if param.len().is_multiple_of(4) {
            ("adam4", param.len() / 4)
        } else {
            ("adam", param.len())
        };
        // Plain Adam's decay window starts at update 2³² − 1, past the end of any run.
        let adam = |lr, beta1, beta2, eps, decay_from, decay_to| {
            let params = AdamParams {
                n: u(items),
                lr,
                beta1,
                beta2,
                eps,
                t_mul: clock.mul,
                t_add: clock.add,
                decay_from,
                decay_to,
            };
            gpu.kernel(
                KernelSpec::new(Shader::Adam, entry),
                &[
                    Bind::params(&params),
                    Bind::Read(state),
                    Bind::Write(param),
                    Bind::Read(grad),
                    Bind::Write(m1),
                    Bind::Write(m2),
                ],
                groups_256(items),
            )
        };
        match *self {
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => adam(lr, beta1, beta2, eps, u32::MAX, u32::MAX),
            Optimizer::AdamLinearDecay {
                lr,
                beta1,
                beta2,
                eps,
                from,
                to,
            } => adam(lr, beta1, beta2, eps, from, to),
            Optimizer::Sgd {
                lr,
                decay,
                min_lr,
                momentum0,
                momentum1,
                ramp_start,
                ramp_end,
            } => {
                let params = SgdParams {
                    n: u(param.len()),
                    lr,
                    decay,
                    min_lr,
                    momentum0,
                    momentum1,
                    ramp_start,
                    ramp_end,
                    t_mul: clock.mul,
                    t_add: clock.add,
                };
                gpu.kernel(
                    KernelSpec::new(Shader::Sgd, "sgd_momentum"),
                    &[
                        Bind::params(&params),
                        Bind::Read(state),
                        Bind::Write(param),
                        Bind::Read(grad),
                        Bind::Write(m1),
                    ],
                    groups_256(param.len()),
                )
            }
        }
    }
}
