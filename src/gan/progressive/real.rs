//! The real images as a growing D sees them: the gathered batch average-pooled down to the
//! stage's resolution and, while a block fades in, blended with its own half-resolution
//! copy up-sampled, by the same α as the networks (Karras et al. 2018, §A.1).

use crate::ops::fade::{self, Ramp};
use crate::ops::resample::{avg_pool_forward, upsample_forward, Planes};
use crate::step::Recorder;
use crate::{Result, Tensor};

/// Records the kernels taking a gathered batch `[b, c, h, w]` to `side × side`, faded by
/// `ramp` when given; returns the tensor D reads.
pub(crate) fn at_stage(
    rec: &mut Recorder,
    real: &Tensor,
    side: usize,
    ramp: Option<Ramp>,
) -> Result<Tensor> {
    let gpu = &rec.gpu.clone();
    let s = real.shape();
    let (b, c, mut h) = (s[0], s[1], s[2]);
    let mut x = real.clone();
    let pool = |rec: &mut Recorder, x: &Tensor, h: usize| -> Result<Tensor> {
        let planes = Planes {
            planes: b * c,
            h,
            w: h,
        };
        let y = Tensor::zeros(gpu, &[b, c, h / 2, h / 2], "pooled real batch")?;
        rec.push(avg_pool_forward(gpu, planes, x, &y)?);
        Ok(y)
    };
    while h > side {
        x = pool(rec, &x, h)?;
        h /= 2;
    }
    let Some(ramp) = ramp else { return Ok(x) };
    let low = pool(rec, &x, h)?;
    let up = Tensor::zeros(gpu, x.shape(), "up-sampled real batch")?;
    let planes = Planes {
        planes: b * c,
        h,
        w: h,
    };
    rec.push(upsample_forward(gpu, planes, &low, &up)?);
    let blended = Tensor::zeros(gpu, x.shape(), "faded real batch")?;
    rec.push(fade::forward(
        gpu,
        ramp,
        &rec.state.clone(),
        &x,
        &up,
        &blended,
    )?);
    Ok(blended)
}
