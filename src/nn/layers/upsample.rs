//! Nearest-neighbour up-sampling by 2: each value of `[c, h, w]` becomes a 2×2 block of
//! `[c, 2h, 2w]` (progressive growing's way up); the gradient sums each block.

use super::{chw, Backward, Forward, Kind, Recorded, Tangent};
use crate::ops::resample::{upsample_backward, upsample_forward, Planes};
use crate::Result;

#[derive(Debug)]
pub(crate) struct Upsample;

impl Kind for Upsample {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        "upsample(2)".into()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        let (c, h, w) = chw("upsample", inputs[0])?;
        Ok(vec![c, 2 * h, 2 * w])
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y) = (f.x().clone(), f.output()?);
        let s = y.shape();
        let g = Planes {
            planes: s[0] * s[1],
            h: s[2],
            w: s[3],
        };
        let k = upsample_forward(f.gpu, g, &x, &y)?;
        let rule = move |b: &mut Backward<'_>| {
            if let Some(dx) = b.dx(0, &x)? {
                let k = upsample_backward(b.gpu, g, &b.gy, &dx)?;
                b.push(k);
            }
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
