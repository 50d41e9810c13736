//! Reshape: the same values seen with another per-sample shape; no kernel either way.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct Reshape(pub Vec<usize>);

impl Kind for Reshape {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        format!("reshape({:?})", self.0)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        let input = inputs[0];
        if self.0.iter().product::<usize>() != input.iter().product::<usize>() {
            return Err(Error::shape(
                "reshape",
                format!("cannot view {input:?} as {:?}", self.0),
            ));
        }
        Ok(self.0.clone())
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let x = f.x().clone();
        let rule = move |b: &mut Backward<'_>| b.pass_through(0, &x);
        Ok(Recorded::new(f.identity()?, Vec::new(), Box::new(rule)))
    }
}
