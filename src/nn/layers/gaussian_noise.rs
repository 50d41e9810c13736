//! Gaussian noise: `y = x + σ·N(0, 1)` in training, the identity otherwise; the gradient
//! passes through unchanged either way.

use super::{Backward, Forward, Kind, Recorded, Tangent};
use crate::nn::Mode;
use crate::ops::stabilise::{instance_noise, Draws, InstanceNoise};
use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct GaussianNoise {
    pub sigma: f32,
}

impl Kind for GaussianNoise {
    /// Additive noise: the tangent passes unchanged (the forward without noise).
    fn tangent(&self, t: &Tangent<'_>) -> Result<Recorded> {
        let mut f = t.f.clone();
        f.mode = Mode::Eval;
        self.record(&f)
    }

    fn name(&self) -> String {
        format!("gaussian_noise(σ {})", self.sigma)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        if !(self.sigma >= 0.0 && self.sigma.is_finite()) {
            return Err(Error::shape(
                "gaussian_noise",
                format!("σ must be finite and ≥ 0, got {}", self.sigma),
            ));
        }
        Ok(inputs[0].to_vec())
    }

    fn record(&self, f: &Forward<'_>) -> Result<Recorded> {
        let x = f.x().clone();
        let rule = move |b: &mut Backward<'_>| b.pass_through(0, &x);
        if f.mode != Mode::Train {
            return Ok(Recorded::new(f.identity()?, Vec::new(), Box::new(rule)));
        }
        let noise = InstanceNoise {
            sigma: self.sigma,
            anneal_steps: 0,
        };
        let draws = Draws {
            seed: f.seed,
            stream: f.stream,
            clock: f.clock,
        };
        let y = f.output()?;
        let k = instance_noise(f.gpu, noise, draws, f.state, f.x(), &y)?;
        Ok(Recorded::new(y, vec![k], Box::new(rule)))
    }
}
