//! A layer's weight as its kernels use it: the stored value; under an equalised learning rate
//! (Karras et al. 2018) the stored value times He's constant; or spectrally normalised
//! (Miyato et al. 2018), the stored value over its estimated largest singular value. The
//! latter two are written into a buffer of their own each forward, and the used weight's
//! gradient is carried back to the stored one.

use super::{Backward, Forward, SpectralStep};
use crate::gpu::Kernel;
use crate::ops::elementwise::axpby;
use crate::ops::spectral;
use crate::{Result, Tensor};

pub(crate) struct Weight {
    /// What the forward and the input gradient multiply by.
    pub used: Tensor,
    /// Where the weight-gradient kernel writes.
    pub grad: Tensor,
    /// How the used weight's gradient reaches the stored one's, when they differ.
    fix: Option<(Fix, Tensor)>,
}

/// What turns the stored weight into the used one.
enum Fix {
    Scaled(f32),
    /// The snapshot (u', v', σ) the forward used.
    Spectral((Tensor, Tensor, Tensor)),
}

impl Weight {
    /// Parameter 0 of `f`; a scaled weight's copy kernel goes into `kernels`.
    pub fn new(f: &Forward<'_>, kernels: &mut Vec<Kernel>) -> Result<Weight> {
        let (w, dw) = f.params[0].clone();
        if f.spectral.is_none() && f.weight_scale.is_none() {
            return Ok(Weight {
                used: w,
                grad: dw,
                fix: None,
            });
        }
        let label = format!("{} used weight", f.label);
        let used = Tensor::zeros(f.gpu, w.shape(), &label)?;
        let grad = Tensor::zeros(f.gpu, w.shape(), &format!("{label} gradient"))?;
        let fix = match (&f.spectral, f.weight_scale) {
            (Some(sn), _) => {
                let (su, sv, sigma) = &sn.snapshot;
                if sn.step != SpectralStep::Reuse {
                    let iterate = sn.step == SpectralStep::Iterate;
                    let kept = (&sn.kept.0, &sn.kept.1);
                    kernels.push(spectral::power(f.gpu, &w, kept, (su, sv, sigma), iterate)?);
                }
                kernels.push(spectral::scale(f.gpu, &w, sigma, &used)?);
                Fix::Spectral(sn.snapshot.clone())
            }
            (None, c) => {
                let c = c.unwrap_or(1.0);
                kernels.push(axpby(f.gpu, c, &w, 0.0, &used)?);
                Fix::Scaled(c)
            }
        };
        Ok(Weight {
            used,
            grad,
            fix: Some((fix, dw)),
        })
    }

    /// Whether the weight-gradient kernel adds to [`Weight::grad`] when the backward
    /// accumulates (`acc`): a scaled weight's kernel writes a scratch buffer.
    pub fn accumulates(&self, acc: bool) -> bool {
        acc && self.fix.is_none()
    }

    /// After the weight-gradient kernel: the stored weight's gradient from the used one's
    /// (added when `acc`): `c` times it, or through W/σ.
    pub fn finish(&self, b: &mut Backward<'_>, acc: bool) -> Result<()> {
        let k = match &self.fix {
            None => return Ok(()),
            Some((Fix::Scaled(c), dw)) => {
                axpby(b.gpu, *c, &self.grad, if acc { 1.0 } else { 0.0 }, dw)?
            }
            Some((Fix::Spectral((su, sv, sigma)), dw)) => {
                spectral::backward(b.gpu, (&self.used, &self.grad), (su, sv, sigma), dw, acc)?
            }
        };
        b.push(k);
        Ok(())
    }
}
