//! Instance normalisation with learnable scale γ and shift β per channel: each sample's
//! channel planes normalised by their own statistics, the same in every mode (no running
//! statistics, nothing shared across the batch, so a sample's output never depends on the
//! others').

use super::{Backward, Forward, Kind, Recorded};
use crate::nn::Init;
use crate::ops::instance_norm::{backward_params, backward_x, forward, InstanceNormGeom};
use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct InstanceNorm {
    pub eps: f32,
}

impl Kind for InstanceNorm {
    fn name(&self) -> String {
        "instance_norm".into()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        if inputs[0].len() < 2 {
            return Err(Error::shape(
                "instance_norm",
                format!(
                    "needs channels and positions ([c, h, w] or [c, n]), got {:?}",
                    inputs[0]
                ),
            ));
        }
        Ok(inputs[0].to_vec())
    }

    fn param_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        vec![vec![input[0]], vec![input[0]]]
    }

    /// γ starts at 1 and β at 0, whatever the network's init (as PyTorch's affine
    /// InstanceNorm2d).
    fn initial(&self, index: usize, drawn: Vec<f32>, _: Init) -> Vec<f32> {
        vec![if index == 0 { 1.0 } else { 0.0 }; drawn.len()]
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let (x, y) = (f.x().clone(), f.output()?);
        let s = x.shape();
        let g = InstanceNormGeom {
            batch: s[0],
            channels: s[1],
            spatial: s[2..].iter().product(),
            eps: self.eps,
        };
        let gamma = f.param(0).clone();
        let k = forward(f.gpu, g, &x, (&gamma, f.param(1)), &y)?;
        let (dgamma, dbeta) = (f.params[0].1.clone(), f.params[1].1.clone());
        let rule = move |b: &mut Backward<'_>| {
            if b.params() {
                let acc = b.accumulate();
                let k = backward_params(b.gpu, g, &x, &b.gy, (&dgamma, &dbeta), acc)?;
                b.push(k);
            }
            if let Some(dx) = b.dx(0, &x)? {
                let k = backward_x(b.gpu, g, &x, &gamma, &b.gy, &dx)?;
                b.push(k);
            }
            Ok(())
        };
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
