//! Channel concatenation of two inputs `[c₁, …]` and `[c₂, …]` with the same trailing shape
//! (a U-Net's skip into its decoder); the backward splits the gradient.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::ops::concat::{concat_channels, split_channels};
use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct Concat;

impl Kind for Concat {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        "concat".to_string()
    }

    fn arity(&self) -> usize {
        2
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        match (inputs[0], inputs[1]) {
            ([ca, a @ ..], [cb, b @ ..]) if a == b => {
                let mut out = vec![ca + cb];
                out.extend_from_slice(a);
                Ok(out)
            }
            (a, b) => Err(Error::shape(
                "concat",
                format!("{a:?} and {b:?} differ after the channel axis"),
            )),
        }
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (a, b, y) = (f.inputs[0].clone(), f.inputs[1].clone(), f.output()?);
        let batch = y.shape()[0];
        let spatial: usize = y.shape()[2..].iter().product();
        let k = concat_channels(f.gpu, &a, &b, &y, batch, spatial)?;
        let rule = move |bw: &mut Backward<'_>| {
            let (da, db) = (bw.dx(0, &a)?, bw.dx(1, &b)?);
            let ks = split_channels(bw.gpu, &bw.gy, da.as_ref(), db.as_ref(), batch, spatial)?;
            bw.extend(ks);
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
