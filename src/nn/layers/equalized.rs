//! A layer's weight as its kernels use it: the stored value, or under an equalised learning
//! rate (Karras et al. 2018) the stored value times He's constant, copied into a buffer of its
//! own each forward; the gradient is scaled back the same way.

use super::{Backward, Forward};
use crate::gpu::Kernel;
use crate::ops::elementwise::axpby;
use crate::{Result, Tensor};

pub(crate) struct Weight {
    /// What the forward and the input gradient multiply by.
    pub used: Tensor,
    /// Where the weight-gradient kernel writes.
    pub grad: Tensor,
    /// The scale and the stored weight's gradient, when scaled.
    scaled: Option<(f32, Tensor)>,
}

impl Weight {
    /// Parameter 0 of `f`; a scaled weight's copy kernel goes into `kernels`.
    pub fn new(f: &Forward<'_>, kernels: &mut Vec<Kernel>) -> Result<Weight> {
        let (w, dw) = f.params[0].clone();
        let Some(c) = f.weight_scale else {
            return Ok(Weight {
                used: w,
                grad: dw,
                scaled: None,
            });
        };
        let label = format!("{} scaled weight", f.label);
        let used = Tensor::zeros(f.gpu, w.shape(), &label)?;
        let grad = Tensor::zeros(f.gpu, w.shape(), &format!("{label} gradient"))?;
        kernels.push(axpby(f.gpu, c, &w, 0.0, &used)?);
        Ok(Weight {
            used,
            grad,
            scaled: Some((c, dw)),
        })
    }

    /// Whether the weight-gradient kernel adds to [`Weight::grad`] when the backward
    /// accumulates (`acc`): a scaled weight's kernel writes a scratch buffer.
    pub fn accumulates(&self, acc: bool) -> bool {
        acc && self.scaled.is_none()
    }

    /// After the weight-gradient kernel: the stored weight's gradient, `c` times the used
    /// one's (added when `acc`).
    pub fn finish(&self, b: &mut Backward<'_>, acc: bool) -> Result<()> {
        if let Some((c, dw)) = &self.scaled {
            let k = axpby(b.gpu, *c, &self.grad, if acc { 1.0 } else { 0.0 }, dw)?;
            b.push(k);
        }
        Ok(())
    }
}
