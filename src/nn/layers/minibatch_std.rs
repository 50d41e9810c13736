//! Minibatch standard deviation (Karras et al. 2018): one more channel (or feature) holding
//! the mean over positions of the batch's standard deviation, the batch as one group. Batch
//! statistics in every mode, as ProGAN's D uses them.

use super::{Backward, Forward, Kind, Recorded};
use crate::ops::minibatch_std::{backward, forward, MbstdGeom, EPS};
use crate::{Error, Result, Tensor};

#[derive(Debug)]
pub(crate) struct MinibatchStd;

impl Kind for MinibatchStd {
    fn name(&self) -> String {
        "minibatch_std".to_string()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        match inputs[0] {
            [c, rest @ ..] => {
                let mut out = vec![c + 1];
                out.extend_from_slice(rest);
                Ok(out)
            }
            [] => Err(Error::shape(
                "minibatch_std",
                "needs at least a channel (or feature) dimension",
            )),
        }
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y) = (f.x().clone(), f.output()?);
        let g = MbstdGeom::of_shape(x.shape())?;
        let label = format!("{} statistics", f.label);
        let stats = Tensor::zeros(f.gpu, &[g.stats_len()], &label)?;
        let k = forward(f.gpu, &g, &x, &y, &stats, EPS)?;
        let rule = move |b: &mut Backward<'_>| {
            if let Some(dx) = b.dx(0, &x)? {
                let ks = backward(b.gpu, &g, &x, &b.gy, &stats, &dx, false)?;
                b.extend(ks);
            }
            Ok(())
        };
        Ok(Recorded::new(y, k, Box::new(rule)))
    }
}
