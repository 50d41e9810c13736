//! Minibatch standard deviation (Karras et al. 2018): one more channel (or feature) holding
//! the mean over positions of the batch's standard deviation, the batch as one group. Batch
//! statistics in every mode, as ProGAN's D uses them.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::ops::minibatch_std::{backward, curvature, forward, tangent, MbstdGeom, EPS};
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

    /// `ẏ = (ẋ, ṡ)` with `ṡ = Σ ∂s/∂x·ẋ`. Its reverse is the layer's own backward for the
    /// tangent's input, and `Σ ȳ̇[:, C]·∂ṡ/∂x` for the primal input (s is not linear in x).
    /// The column statistics are computed again from the primal input: the tangent sees
    /// only the primal's inputs and output.
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        let gpu = t.f.gpu;
        let x = t.primal_inputs[0].clone();
        let (xdot, ydot) = (t.f.x().clone(), t.f.output()?);
        let g = MbstdGeom::of_shape(x.shape())?;
        let label = format!("{} statistics", t.f.label);
        let stats = Tensor::zeros(gpu, &[g.stats_len()], &label)?;
        let scratch = Tensor::zeros(gpu, &[g.output_len()], &label)?;
        let tstats = Tensor::zeros(gpu, &[g.stats_len()], &label)?;
        let mut k = forward(gpu, &g, &x, &scratch, &stats, EPS)?;
        k.extend(tangent(gpu, &g, &x, &stats, &xdot, &ydot, &tstats)?);
        let rule = move |b: &mut Backward<'_>| {
            if let Some(d) = b.dx(0, &xdot)? {
                let ks = backward(b.gpu, &g, &x, &b.gy, &stats, &d, false)?;
                b.extend(ks);
            }
            let c = Tensor::zeros(b.gpu, x.shape(), "minibatch std curvature cotangent")?;
            let ks = curvature(b.gpu, &g, &x, &stats, &xdot, &tstats, &b.gy, &c, false)?;
            b.extend(ks);
            b.add_to_primal(0, c);
            Ok(())
        };
        Ok(Recorded::new(ydot, k, Box::new(rule)))
    }
}
