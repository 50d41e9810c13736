//! Progressive growing's fade-in: `α·new + (1 − α)·old` of two inputs of the same shape, α
//! rising with the GPU step counter (see `ops::fade`), so a fading network is recorded once.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::ops::fade::{forward, grad, Ramp};
use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct Fade(pub Ramp);

impl Kind for Fade {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        format!("fade(from {}, over {})", self.0.start, self.0.steps)
    }

    fn arity(&self) -> usize {
        2
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        if inputs[0] != inputs[1] {
            return Err(Error::shape(
                "fade",
                format!("the new {:?} and the old {:?} differ", inputs[0], inputs[1]),
            ));
        }
        if self.0.steps == 0 {
            return Err(Error::Config("a fade-in needs at least one step".into()));
        }
        Ok(inputs[0].to_vec())
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (new, old, y) = (f.inputs[0].clone(), f.inputs[1].clone(), f.output()?);
        let (ramp, state) = (self.0, f.state.clone());
        let k = forward(f.gpu, ramp, &state, &new, &old, &y)?;
        let rule = move |b: &mut Backward<'_>| {
            for (i, input) in [&new, &old].into_iter().enumerate() {
                if let Some(dx) = b.dx(i, input)? {
                    let gy = b.gy.reshape(input.shape())?;
                    let k = grad(b.gpu, ramp, &state, &gy, &dx, i == 1)?;
                    b.push(k);
                }
            }
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
