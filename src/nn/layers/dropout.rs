//! Inverted dropout: in training a Philox mask scales kept values by 1/keep and the backward
//! applies the same mask; otherwise the identity.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::nn::Mode;
use crate::ops::dropout::{apply, Mask};
use crate::Result;

#[derive(Debug)]
pub(crate) struct Dropout {
    pub keep: f32,
}

impl Kind for Dropout {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        format!("dropout(keep {})", self.keep)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        Ok(inputs[0].to_vec())
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let x = f.x().clone();
        if f.mode != Mode::Train {
            let rule = move |b: &mut Backward<'_>| b.pass_through(0, &x);
            return Ok(Recorded::new(f.identity()?, Vec::new(), Box::new(rule)));
        }
        let mask = Mask {
            keep: self.keep,
            seed: f.seed,
            stream: f.stream,
            clock: f.clock,
        };
        let (y, state) = (f.output()?, f.state.clone());
        let k = apply(f.gpu, mask, &state, &x, &y)?;
        let rule = move |b: &mut Backward<'_>| {
            if let Some(dx) = b.dx(0, &x)? {
                let k = apply(b.gpu, mask, &state, &b.gy, &dx)?;
                b.push(k);
            }
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
