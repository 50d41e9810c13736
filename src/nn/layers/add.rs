//! The weighted sum `a·x + b·y` of two inputs of the same shape: a residual block's
//! `x + f(x)`, or progressive growing's fade-in `α·new + (1 − α)·old`.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::ops::elementwise::axpby;
use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct Add {
    pub a: f32,
    pub b: f32,
}

impl Kind for Add {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        match (self.a, self.b) {
            (1.0, 1.0) => "add".to_string(),
            (a, b) => format!("add({a}·x + {b}·y)"),
        }
    }

    fn arity(&self) -> usize {
        2
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        if inputs[0] != inputs[1] {
            return Err(Error::shape(
                "add",
                format!("{:?} and {:?} differ", inputs[0], inputs[1]),
            ));
        }
        Ok(inputs[0].to_vec())
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y, out) = (f.inputs[0].clone(), f.inputs[1].clone(), f.output()?);
        let (a, b) = (self.a, self.b);
        let kernels = vec![
            axpby(f.gpu, b, &y, 0.0, &out)?,
            axpby(f.gpu, a, &x, 1.0, &out)?,
        ];
        let rule = move |bw: &mut Backward<'_>| {
            bw.scaled(0, &x, a)?;
            bw.scaled(1, &y, b)
        };
        Ok(Recorded::new(out, kernels, Box::new(rule)))
    }
}
