//! Pixelwise feature normalisation (Karras et al. 2018): at each position, the channel
//! vector divided by its root mean square; no parameters, no batch statistics, the same in
//! every mode. On a flat sample the whole feature vector is one position.

use super::{Backward, Forward, Kind, Recorded};
use crate::ops::pixel_norm::{backward, forward, PixelNormGeom};
use crate::Result;

#[derive(Debug)]
pub(crate) struct PixelNorm {
    pub eps: f32,
}

impl Kind for PixelNorm {
    fn name(&self) -> String {
        "pixel_norm".into()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        Ok(inputs[0].to_vec())
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y) = (f.x().clone(), f.output()?);
        let s = x.shape();
        let g = PixelNormGeom {
            batch: s[0],
            channels: s.get(1).copied().unwrap_or(1),
            spatial: s.iter().skip(2).product(),
            eps: self.eps,
        };
        let k = forward(f.gpu, g, &x, &y)?;
        let rule = move |b: &mut Backward<'_>| {
            if let Some(dx) = b.dx(0, &x)? {
                let k = backward(b.gpu, g, &x, &b.gy, &dx)?;
                b.push(k);
            }
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
