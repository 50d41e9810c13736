//! Batch normalisation per channel over the batch (and H·W), with learnable scale γ and
//! shift β and PyTorch's running statistics. Training saves the batch's mean and 1/std for
//! the backward; evaluation uses the running statistics.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::nn::{Init, Mode};
use crate::ops::batchnorm::{backward, eval_forward, train_forward, BnGeom};
use crate::{Error, Result, Tensor};

#[derive(Debug)]
pub(crate) struct BatchNorm {
    pub eps: f32,
    pub momentum: f32,
}

/// A batch-norm view of `x`: `[batch, channels, everything else]`.
fn geom(x: &Tensor) -> BnGeom {
    let s = x.shape();
    BnGeom {
        batch: s[0],
        channels: s[1],
        spatial: s[2..].iter().product(),
    }
}

impl Kind for BatchNorm {
    /// A gradient penalty is per sample, and batch norm makes each sample's output depend on
    /// the whole batch: refused, with what to use instead.
    fn tangent(&self, _t: &Tangent<'_>) -> Result<Recorded> {
        Err(crate::Error::shape(
            "batch_norm",
            "cannot be in a discriminator with a gradient penalty: the penalty is per sample, and \
             batch norm mixes the samples of a batch (Gulrajani et al. 2017, §4). Build D without \
             normalisation, or bound it with spectral normalisation instead",
        ))
    }

    fn name(&self) -> String {
        "batch_norm".to_string()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        if inputs[0].is_empty() {
            return Err(Error::shape(
                "batch_norm",
                "needs at least a channel dimension",
            ));
        }
        Ok(inputs[0].to_vec())
    }

    fn param_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        vec![vec![input[0]], vec![input[0]]]
    }

    /// γ starts at 1 (plus N(0, std²) under a normal init, as DCGAN does), β at 0.
    fn initial(&self, index: usize, drawn: Vec<f32>, init: Init) -> Vec<f32> {
        match (index, init) {
            (0, Init::Normal(_)) => drawn.iter().map(|v| 1.0 + v).collect(),
            (0, _) => vec![1.0; drawn.len()],
            _ => vec![0.0; drawn.len()],
        }
    }

    fn has_running_stats(&self) -> bool {
        true
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (gpu, x, y) = (f.gpu, f.x().clone(), f.output()?);
        let g = geom(&x);
        let (gamma, beta) = (f.param(0).clone(), f.param(1));
        let (rm, rv) = f
            .running
            .clone()
            .expect("the network gives batch norm its running statistics");
        if f.mode == Mode::Eval {
            let k = eval_forward(gpu, &g, &x, &gamma, beta, &rm, &rv, &y, self.eps)?;
            let rule = |_: &mut Backward<'_>| {
                Err(Error::shape(
                    "batch_norm",
                    "backward through a tape recorded in eval mode",
                ))
            };
            return Ok(Recorded::new(y, k, Box::new(rule)));
        }
        let stats = Tensor::zeros(gpu, &[2 * g.channels], &format!("{} statistics", f.label))?;
        // Generating uses batch statistics but must not move the running ones.
        let (rm, rv) = if f.mode == Mode::Generate {
            let scratch = || Tensor::zeros(gpu, &[g.channels], "scratch");
            (scratch()?, scratch()?)
        } else {
            (rm, rv)
        };
        let (momentum, eps) = (self.momentum, self.eps);
        let k = train_forward(
            gpu, &g, &x, &gamma, beta, &y, &stats, &rm, &rv, momentum, eps,
        )?;
        let (dgamma, dbeta) = (f.params[0].1.clone(), f.params[1].1.clone());
        let rule = move |b: &mut Backward<'_>| {
            let pg = b.params().then_some((&dgamma, &dbeta));
            let acc = b.accumulate();
            let dx = b.dx(0, &x)?;
            let ks = backward(b.gpu, &g, &x, &b.gy, &gamma, &stats, dx.as_ref(), pg, acc)?;
            b.extend(ks);
            Ok(())
        };
        Ok(Recorded::new(y, k, Box::new(rule)))
    }
}
