//! The progressive networks of Karras et al. 2018, scaled to digits: G grows from 7×7 by
//! blocks of (up-sample, two 3×3 convolutions, pixel norm) with a 1×1 "to image" layer at
//! each resolution; D mirrors it with a 1×1 "from image" layer, blocks of two 3×3
//! convolutions and average pooling, and a last block with the minibatch standard deviation.
//! Every weight uses the equalised learning rate and LeakyReLU(0.2); no batch norm. Layers
//! are named by resolution (`g14.conv1`, `d28.rgb`), so a grown network takes the trained
//! values of every layer it shares with the smaller one.

use crate::nn::{Graph, GraphBuilder, Init, Node};
use crate::ops::fade::Ramp;
use crate::{Error, Result};

/// Slope of every LeakyReLU.
const SLOPE: f32 = 0.2;

/// The sizes of a progressive GAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProGan {
    /// Size of z.
    pub nz: usize,
    /// Image side of the first stage; each later stage doubles it.
    pub first_side: usize,
    /// Channels of G's and D's blocks at each stage's resolution, lowest first; its length
    /// is the number of stages.
    pub channels: Vec<usize>,
}

impl ProGan {
    /// Digits: 7×7 → 14×14 → 28×28 with 64, 32 and 16 channels, z of 128: small enough that
    /// a default run of `progan_mnist` fits an hour on a CPU adapter.
    pub fn mnist() -> ProGan {
        ProGan {
            nz: 128,
            first_side: 7,
            channels: vec![64, 32, 16],
        }
    }

    /// Stages of the run.
    pub fn stages(&self) -> usize {
        self.channels.len()
    }

    /// Image side at stage `k`.
    pub fn side(&self, k: usize) -> usize {
        self.first_side << k
    }

    /// The full-size image side.
    pub fn final_side(&self) -> usize {
        self.side(self.stages() - 1)
    }

    /// Errors unless the sizes make a network.
    pub fn validate(&self) -> Result<()> {
        if self.nz == 0 || self.first_side == 0 || self.channels.is_empty() {
            return Err(Error::Config(format!(
                "a progressive GAN needs z, a first side and at least one stage, got {self:?}"
            )));
        }
        if self.channels.contains(&0) {
            return Err(Error::Config(format!(
                "every stage needs at least one channel, got {:?}",
                self.channels
            )));
        }
        Ok(())
    }

    fn check_stage(&self, k: usize) -> Result<()> {
        self.validate()?;
        if k >= self.stages() {
            return Err(Error::Config(format!(
                "stage {k} does not exist: this network has {} stages",
                self.stages()
            )));
        }
        Ok(())
    }

    /// G at stage `k`: z `[nz]` → image `[1, side(k), side(k)]`, unbounded (as in the paper,
    /// no tanh). With `fade`, the new block's image is blended with the last stage's,
    /// up-sampled, as α rises.
    pub fn generator(&self, k: usize, fade: Option<Ramp>) -> Result<Graph> {
        self.check_stage(k)?;
        let b = builder();
        let (nz, c0, s0) = (self.nz, self.channels[0], self.first_side);
        let z = b.input([nz]);
        let mut h = z
            .reshape([nz, 1, 1])
            .pixel_norm()
            .flatten()
            .linear(c0 * s0 * s0)
            .named(&format!("g{s0}.dense"))
            .reshape([c0, s0, s0])
            .leaky_relu(SLOPE)
            .pixel_norm()
            .conv_bias(c0, 3, 1, 1)
            .named(&format!("g{s0}.conv"))
            .leaky_relu(SLOPE)
            .pixel_norm();
        let mut last = h.clone();
        for s in 1..=k {
            last = h.clone();
            let (c, side) = (self.channels[s], self.side(s));
            h = h.upsample();
            for part in ["conv1", "conv2"] {
                h = h
                    .conv_bias(c, 3, 1, 1)
                    .named(&format!("g{side}.{part}"))
                    .leaky_relu(SLOPE)
                    .pixel_norm();
            }
        }
        let to_image = |h: &Node, s: usize| {
            h.conv_bias(1, 1, 1, 0)
                .named(&format!("g{}.rgb", self.side(s)))
        };
        let mut image = to_image(&h, k);
        if let Some(r) = fade.filter(|_| k > 0) {
            image = image.fade(&to_image(&last, k - 1).upsample(), r.start, r.steps);
        }
        b.output(&image);
        b.build()
    }

    /// D at stage `k`: image `[1, side(k), side(k)]` → one logit. With `fade`, the new
    /// block's features are blended with those the last stage's first layer takes from the
    /// average-pooled image, as α rises.
    pub fn discriminator(&self, k: usize, fade: Option<Ramp>) -> Result<Graph> {
        self.check_stage(k)?;
        let b = builder();
        let side = self.side(k);
        let x = b.input([1, side, side]);
        let from_image = |x: &Node, s: usize| {
            x.conv_bias(self.channels[s], 1, 1, 0)
                .named(&format!("d{}.rgb", self.side(s)))
                .leaky_relu(SLOPE)
        };
        let block = |h: Node, s: usize| {
            let name = |part| format!("d{}.{part}", self.side(s));
            h.conv_bias(self.channels[s], 3, 1, 1)
                .named(&name("conv1"))
                .leaky_relu(SLOPE)
                .conv_bias(self.channels[s - 1], 3, 1, 1)
                .named(&name("conv2"))
                .leaky_relu(SLOPE)
                .avg_pool()
        };
        let mut h = from_image(&x, k);
        for s in (1..=k).rev() {
            h = block(h, s);
            if let Some(r) = fade.filter(|_| s == k) {
                h = h.fade(&from_image(&x.avg_pool(), k - 1), r.start, r.steps);
            }
        }
        let (c0, s0) = (self.channels[0], self.first_side);
        let logit = h
            .minibatch_std()
            .conv_bias(c0, 3, 1, 1)
            .named(&format!("d{s0}.conv"))
            .leaky_relu(SLOPE)
            .flatten()
            .linear(c0)
            .named(&format!("d{s0}.dense"))
            .leaky_relu(SLOPE)
            .linear(1)
            .named(&format!("d{s0}.out"));
        b.output(&logit);
        b.build()
    }
}

/// A graph with the equalised learning rate on every weight (stored N(0, 1), scaled by He's
/// constant in use) and zero biases.
fn builder() -> GraphBuilder {
    let b = GraphBuilder::new();
    b.init(Init::Normal(1.0)).equalized_lr();
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_has_the_right_shapes() {
        let p = ProGan::mnist();
        let ramp = Some(Ramp { start: 5, steps: 5 });
        for k in 0..3 {
            for fade in [None, ramp] {
                let g = p.generator(k, fade).unwrap();
                let side = p.side(k);
                assert_eq!(g.output_shape().unwrap(), vec![1, side, side]);
                let d = p.discriminator(k, fade).unwrap();
                assert_eq!(d.input_shape(), &[1, side, side]);
                assert_eq!(d.output_shape().unwrap(), vec![1]);
            }
        }
        assert!(p.generator(3, None).is_err());
    }
}
