//! Elementwise nonlinearities (ReLU, LeakyReLU, Tanh, Sigmoid): one shader, the backward
//! reading the input or, where cheaper, the output.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::ops::activation::{backward, curvature, forward, Activation};
use crate::{Result, Tensor};

#[derive(Debug)]
pub(crate) struct Act(pub Activation);

impl Kind for Act {
    fn name(&self) -> String {
        format!("{:?}", self.0).to_lowercase()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        Ok(inputs[0].to_vec())
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y, act) = (f.x().clone(), f.output()?, self.0);
        let k = forward(f.gpu, act, &x, &y)?;
        let saved = if act.backward_uses_output() {
            y.clone()
        } else {
            x.clone()
        };
        let rule = move |b: &mut Backward<'_>| {
            if let Some(dx) = b.dx(0, &x)? {
                let k = backward(b.gpu, act, &saved, &b.gy, &dx)?;
                b.push(k);
            }
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }

    /// `ẏ = σ'(x)·ẋ`, the backward's own kernel on the tangent. Its reverse gives `σ'(x)·ȳ̇`
    /// to the tangent and, for Tanh and Sigmoid, `σ''(x)·ẋ·ȳ̇` to the primal input (the
    /// ReLUs' σ'' is 0 wherever it exists, as in PyTorch).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        let act = self.0;
        let saved = if act.backward_uses_output() {
            t.primal_output.clone()
        } else {
            t.primal_inputs[0].clone()
        };
        let (dx, dy) = (t.f.x().clone(), t.f.output()?);
        let k = backward(t.f.gpu, act, &saved, &dx, &dy)?;
        let rule = move |b: &mut Backward<'_>| {
            if let Some(d) = b.dx(0, &dx)? {
                let k = backward(b.gpu, act, &saved, &b.gy, &d)?;
                b.push(k);
            }
            if act.has_curvature() {
                let c = Tensor::zeros(b.gpu, dx.shape(), "curvature cotangent")?;
                let k = curvature(b.gpu, act, &saved, &dx, &b.gy, &c)?;
                b.push(k);
                b.add_to_primal(0, c);
            }
            Ok(())
        };
        Ok(Recorded::new(dy, vec![k], Box::new(rule)))
    }
}
