//! 2×2 average pooling with stride 2 (progressive growing's way down): `[c, h, w]` becomes
//! `[c, h/2, w/2]`, an odd last row or column dropped as in PyTorch's `AvgPool2d(2)`.

use super::{chw, Backward, Forward, Kind, Recorded, Tangent};
use crate::ops::resample::{avg_pool_backward, avg_pool_forward, Planes};
use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct AvgPool;

impl Kind for AvgPool {
    /// Linear in its input: the tangent is the same forward on the tangent (no bias).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        t.of_linear(self)
    }

    fn name(&self) -> String {
        "avg_pool(2)".into()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        let (c, h, w) = chw("avg_pool", inputs[0])?;
        if h < 2 || w < 2 {
            return Err(Error::shape(
                "avg_pool",
                format!("{h}×{w} images have no 2×2 block to average"),
            ));
        }
        Ok(vec![c, h / 2, w / 2])
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y) = (f.x().clone(), f.output()?);
        let s = x.shape();
        let g = Planes {
            planes: s[0] * s[1],
            h: s[2],
            w: s[3],
        };
        let k = avg_pool_forward(f.gpu, g, &x, &y)?;
        let rule = move |b: &mut Backward<'_>| {
            if let Some(dx) = b.dx(0, &x)? {
                let k = avg_pool_backward(b.gpu, g, &b.gy, &dx)?;
                b.push(k);
            }
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
