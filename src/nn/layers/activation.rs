//! Elementwise nonlinearities (ReLU, LeakyReLU, Tanh, Sigmoid): one shader, the backward
//! reading the input or, where cheaper, the output.

use super::{Backward, Forward, Kind, Recorded};
use crate::ops::activation::{backward, forward, Activation};
use crate::Result;

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
}
